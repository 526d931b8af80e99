"""Greedy replies that are the same every time for the same conversation.

llama.cpp's numbers depend a little on how a prompt is split into decode batches, and that
split follows how much of the prompt is already in the KV cache: asking the same question
about the same receipt three times gave 7.80, 10.70, 10.70. So a greedy turn is evaluated from
a fixed point: the conversation before the user's newest message (the system prompt, on a new
chat) is decoded on its own and kept; the newest message onwards is decoded from there, in
the same batches every time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


class _Rendered(Exception):
    def __init__(self, tokens: list[int]) -> None:
        self.tokens = tokens


def _render(llm: Any, messages: list[dict[str, Any]]) -> list[int]:
    """The prompt tokens llama-cpp-python's chat handler makes of `messages`, whatever the
    chat format, caught where the handler hands them to create_completion."""

    def capture(prompt: Any = None, **_: Any) -> Any:
        raise _Rendered(list(prompt))

    llm.create_completion = capture
    try:
        llm.create_chat_completion(messages=messages, max_tokens=1, stream=True)
    except _Rendered as rendered:
        return rendered.tokens
    finally:
        del llm.create_completion
    raise RuntimeError("the chat handler did not make a prompt")


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def prompt_head(llm: Any, messages: list[dict[str, Any]]) -> list[int] | None:
    """The tokens before the last message's content: what two versions of the conversation
    differing only in that content have in common. None where it can't be worked out."""
    if not messages or not isinstance(messages[-1].get("content"), str):
        return None
    try:
        one = _render(llm, [*messages[:-1], {**messages[-1], "content": "A"}])
        two = _render(llm, [*messages[:-1], {**messages[-1], "content": "7"}])
    except Exception:  # an unusual handler: the reply is still made, only not from a fixed start
        log.warning("could not find where the newest message starts", exc_info=True)
        return None
    head = one[: _common(one, two)]
    return head or None


def start_from(llm: Any, head: list[int], evaluate: Any) -> None:
    """Leave exactly `head` in the KV cache: keep what matches, cut the rest, and decode what
    is missing of it on its own (`evaluate`: the model's eval), so what follows is decoded
    from the same point, in the same batches, on every ask."""
    cached = llm.input_ids[: llm.n_tokens]
    kept = _common(cached, head)
    llm.n_tokens = kept  # the next decode drops the KV cache beyond this
    if kept < len(head):
        evaluate(head[kept:])
