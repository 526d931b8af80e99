"""Handing a GGUF file to llama.cpp: a cheap check of the file first (llama.cpp's own errors
are cryptic), then the Llama itself. Used by the chat engine (llama.py) and by the child that
tries a user's file before the app loads it (probe.py)."""

from __future__ import annotations

from pathlib import Path

from app.llm.cpu_buffers import safe_cpu_buffers
from app.models.errors import ModelError
from app.safety.input_path import special_file


def load_llama(**kwargs: object) -> object:
    """Construct a Llama; on AMX CPUs with the safe weight buffers (app/llm/cpu_buffers.py)."""
    from jinja2.exceptions import TemplateError
    from llama_cpp import Llama

    with safe_cpu_buffers(str(kwargs["model_path"])):
        try:
            return Llama(**kwargs)
        except TemplateError as exc:  # llama-cpp-python compiles the GGUF's chat template
            name = Path(str(kwargs["model_path"])).name
            raise ModelError(
                f"{name}'s chat template does not work ({type(exc).__name__}: {exc}), so "
                "every reply would fail. Choose another model file in Settings."
            ) from exc


def check_gguf(path: Path) -> None:
    """Cheap sanity check before handing a file to llama.cpp, whose errors are cryptic."""
    if path.is_dir():
        raise ModelError(
            f"{path} is a folder; the language model setting needs a .gguf file. Choose a "
            ".gguf file in Settings, or leave the setting empty to use the built-in default."
        )
    special = special_file(path, "a .gguf model file")
    if special:
        raise ModelError(special)
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
    from app.models.gguf_info import check_language_model

    check_language_model(path)  # the header alone (~30 ms): says what llama.cpp would not
