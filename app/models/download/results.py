"""What a download gives back: its errors, its progress reports and its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.models.errors import ModelError


class DownloadError(ModelError):
    """A download failed; `str(exc)` says why and what to do (one line)."""


class DownloadCancelled(DownloadError):
    """The user stopped the download; the `.part` file is kept so it can resume."""


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    label: str  # what is being downloaded, for display
    done: int  # bytes of the file on disk so far (a resumed download starts above 0)
    total: int | None  # None when neither the catalog nor the server says
    rate: float  # bytes per second over the last few seconds
    phase: str  # "connecting" | "checking" (hashing a resumed part) | "downloading" | "done"
    resumed_from: int = 0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True, slots=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str
    fetched: int  # bytes that came over the network in this call
    resumed_from: int  # bytes already on disk when it started (0: a fresh download)
    checked_against: str  # "catalog" | "server" (X-Linked-Etag) | "nothing" (size only)
