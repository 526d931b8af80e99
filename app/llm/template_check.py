"""A model's chat template is code that comes with the model file: check it before use.

llama-cpp-python renders the template stored in a GGUF in Jinja's immutable sandbox, which
blocks a template that reaches for Python's internals (`''.__class__.__mro__`, `__globals__`,
...), but only when that line runs, mid-conversation, as an unexplained failure. A template
that names such internals anywhere is refused when the model is loaded, with a message that
says why; one that fails to render a plain conversation is refused too (it would fail every
turn).
"""

from __future__ import annotations

import re
from typing import Any

from app.models.errors import ModelError

# Python's internals, as a template would reach them: `x.__class__`, `x['__globals__']`.
_DUNDER = re.compile(r"__[A-Za-z_]\w*__")
_SAMPLE = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "How are you?"},
]


def check_chat_template(llm: Any, model_name: str) -> None:
    """Raise ModelError when the chat template in `llm` (a loaded llama_cpp.Llama) is not
    safe or does not work; nothing when the model has none (llama.cpp then uses its own)."""
    template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
    if not template:
        return
    found = sorted(set(_DUNDER.findall(template)))
    if found:
        raise ModelError(
            f"{model_name}'s chat template tries to reach Python's internals "
            f"({', '.join(found[:3])}), which no real chat template needs: Parley refuses to "
            "use this model file. Get the model from a source you trust."
        )
    from jinja2.exceptions import SecurityError, TemplateError
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token(i: int) -> str:
        return llm._model.token_get_text(i) if i != -1 else ""

    try:
        formatter = Jinja2ChatFormatter(template, token(llm.token_eos()), token(llm.token_bos()))
        try:
            formatter(messages=_SAMPLE)
        except SecurityError:
            raise
        except Exception:  # some templates refuse a system turn: a question alone must work
            formatter(messages=_SAMPLE[1:2])
    except SecurityError as exc:
        raise ModelError(
            f"{model_name}'s chat template tried to leave its sandbox ({exc}): Parley refuses "
            "to use this model file. Get the model from a source you trust."
        ) from exc
    except (TemplateError, TypeError, ValueError, KeyError, IndexError) as exc:
        raise ModelError(
            f"{model_name}'s chat template does not work ({type(exc).__name__}: {exc}), so "
            "every reply would fail. Choose another model file in Settings."
        ) from exc
