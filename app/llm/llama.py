"""llama.cpp through llama-cpp-python, using the chat template stored in the GGUF."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.llm.base import Message
from app.models.errors import ModelError

_load_lock = threading.Lock()


def _cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return "amx_tile" in fh.read(65536)
    except OSError:
        return False


def _load_llama(**kwargs: object) -> object:
    """Construct a Llama; on AMX CPUs without llama.cpp's extra (repacking) buffer types.

    A from-source build on an AMX CPU repacks weights for AMX, and its batched decode
    segfaults where the OS (e.g. a VM) does not grant the AMX tile state: seen here on the
    first multi-token prompt. Llama() has no parameter for this, so the default-params
    factory it calls is wrapped for the duration of the load.
    """
    import llama_cpp.llama as llama_module
    from llama_cpp import Llama

    if not _cpu_has_amx() or os.environ.get("PARLEY_LLAMA_EXTRA_BUFTS") == "1":
        return Llama(**kwargs)
    c_api = llama_module.llama_cpp
    original = c_api.llama_model_default_params

    def without_extra_bufts():  # noqa: ANN202
        params = original()
        params.use_extra_bufts = False
        return params

    with _load_lock:
        c_api.llama_model_default_params = without_extra_bufts
        try:
            return Llama(**kwargs)
        finally:
            c_api.llama_model_default_params = original


# Per message: role header and end-of-turn markers of common templates (ChatML uses 5).
_TEMPLATE_OVERHEAD = 8


def check_gguf(path: Path) -> None:
    """Cheap sanity check before handing a file to llama.cpp, whose errors are cryptic."""
    if path.is_dir():
        raise ModelError(
            f"{path} is a folder; the language model setting needs a .gguf file. Choose a "
            ".gguf file in Settings, or leave the setting empty to use the built-in default."
        )
    if not path.is_file():
        raise ModelError(
            f"The language model file {path} does not exist. Choose a .gguf file in Settings, "
            "or leave the setting empty to use the built-in default."
        )
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelError(
            f"{path} is not a GGUF model file (it does not start with 'GGUF'). "
            "Parley needs a llama.cpp .gguf model."
        )


class LlamaChat:
    def __init__(self, model_path: Path, context_size: int = 4096, threads: int = 0) -> None:
        check_gguf(model_path)
        threads = threads or max(1, min(os.cpu_count() or 1, 8))
        try:
            self.llm: Any = _load_llama(
                model_path=str(model_path),
                n_ctx=context_size,
                n_threads=threads,
                n_batch=256,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {model_path.name}: the file is damaged or uses an "
                "architecture this version does not support. Download it again or choose "
                "another model in Settings."
            ) from exc
        self.name = model_path.stem
        self.context_size = self.llm.n_ctx()

    def count_tokens(self, messages: list[Message]) -> int:
        return (
            sum(
                len(self.llm.tokenize(m["content"].encode(), add_bos=False, special=False))
                + _TEMPLATE_OVERHEAD
                for m in messages
            )
            + _TEMPLATE_OVERHEAD
        )

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        stream = self.llm.create_chat_completion(
            messages=list(messages),  # type: ignore[arg-type]
            stream=True,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        try:
            for part in stream:
                delta = part["choices"][0].get("delta", {})  # type: ignore[index]
                text = delta.get("content")
                if text:
                    yield text
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()

    def warm_up(self) -> None:
        for _ in self.stream_chat([{"role": "user", "content": "Hi"}], 1, 0.0):
            pass
