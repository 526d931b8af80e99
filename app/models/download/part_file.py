"""Where a download's bytes go: a target that stays inside the models folder, and the `.part`
file it grows in with a note of which server file that `.part` is the start of."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from app.models.download.meter import Meter
from app.models.download.results import DownloadError


def safe_target(root: Path, rel: str) -> Path:
    """`root/rel`, refused unless it stays inside `root` once symlinks are followed.

    `rel` comes from a catalog or a server, so it is untrusted: absolute paths, '..',
    backslashes and folders that are symlinks pointing out of `root` are all refused.
    """
    bad = DownloadError(
        f"Refused to save a model as '{rel}': it is not a plain path inside {root}."
    )
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel or ":" in rel:
        raise bad
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part in ("..", ".", "") for part in p.parts) or rel.endswith("/"):
        raise bad
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve()
    target = real_root.joinpath(*p.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(real_root):
        raise DownloadError(
            f"Refused to save a model as '{rel}': {target.parent} leads outside {root} "
            "(a symbolic link)."
        )
    if target.is_symlink():
        raise DownloadError(f"Refused to replace {target}: it is a symbolic link.")
    return target


@dataclass(slots=True)
class Job:
    """One file being downloaded: where it goes and what it must turn out to be."""

    url: str
    target: Path
    size: int | None  # pinned by the catalog
    sha256: str | None  # pinned by the catalog
    meter: Meter

    @property
    def part(self) -> Path:
        return self.target.with_name(self.target.name + ".part")

    @property
    def meta(self) -> Path:  # the server's validator of the file the .part belongs to
        return self.target.with_name(self.target.name + ".part.json")

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)


def read_meta(meta: Path, url: str) -> str | None:
    """The validator (ETag or Last-Modified) of the file the `.part` is a prefix of."""
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("url") != url:
        return None
    value = data.get("validator")
    return value if isinstance(value, str) and value else None


def write_meta(meta: Path, url: str, headers: Any) -> None:
    etag = headers.get("ETag")
    validator = etag if etag and not etag.startswith("W/") else headers.get("Last-Modified")
    with contextlib.suppress(OSError):  # without it the next run starts over; no harm
        meta.write_text(json.dumps({"url": url, "validator": validator or ""}), encoding="utf-8")
