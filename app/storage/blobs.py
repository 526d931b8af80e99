"""Attachments as content-addressed files: `attachments/ab/abcdef….png` under the data
directory, named by the sha256 of their bytes, so the same image attached twice is stored once
and a file is never overwritten with different content."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_SUFFIX = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "application/vnd.parley.document+json": ".json",
}


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, mime: str) -> Path:
        return self.root / sha256[:2] / (sha256 + _SUFFIX.get(mime, ".bin"))

    def put(self, data: bytes, mime: str) -> str:
        """Store `data` (if not there yet) and return its sha256. Written to a temporary
        file and renamed, so a crash never leaves half a file under the final name."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest, mime)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str, mime: str) -> bytes | None:
        """The bytes, or None if the file is gone or no longer matches its name."""
        try:
            data = self.path(sha256, mime).read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def remove_unreferenced(self, referenced: set[str], older_than: float) -> int:
        """Delete files no row refers to, if older than `older_than` (a timestamp), so a file
        written just before its row is committed is never collected. Returns the count."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("??/*"):
            if path.name.startswith(".tmp-") or path.stem in referenced:
                continue
            try:
                if path.stat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
            except OSError:
                pass
        return removed
