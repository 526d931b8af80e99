"""Bounds for formats that are zip archives (DOCX today; XLSX, PPTX, ODT, EPUB the same way).

A few megabytes of zip can inflate to gigabytes of XML (a 3.6 MB DOCX to 1.55 GB ran for over
five minutes at 4 GB of memory). The central directory says how big each member is, and
Python's zipfile never inflates a member past its stated size, so the sums below bound what
a reader can be made to unpack, before it unpacks anything. Time and memory are bounded too,
in the child process that reads the file (see extract.py)."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ZipLimits:
    total_bytes: int = 400 * 1024 * 1024  # every member, inflated (pictures are stored as is)
    markup_bytes: int = 64 * 1024 * 1024  # XML, inflated: parsed whole into memory
    members: int = 10_000


DOCX_LIMITS = ZipLimits()
_MARKUP = (".xml", ".rels")


class ZipTooBig(Exception):
    """The archive would inflate past its limits, or is no zip; the message says which."""


def check_zip(path: Path, limits: ZipLimits = DOCX_LIMITS) -> None:
    """Raise ZipTooBig when `path` is not a zip or would inflate past `limits`."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        # zipfile's words ("File is not a zip file") to the log, a sentence to the user.
        logging.getLogger(__name__).info("%s is not a zip: %s", path, exc)
        raise ZipTooBig(
            "it is damaged, cut short or not a zip package (the container DOCX files are); "
            "try saving it again from your word processor"
        ) from None
    if len(members) > limits.members:
        raise ZipTooBig(f"it holds {len(members):,} parts; up to {limits.members:,} are read")
    total = sum(m.file_size for m in members)
    markup = sum(m.file_size for m in members if m.filename.lower().endswith(_MARKUP))
    if markup > limits.markup_bytes or total > limits.total_bytes:
        raise ZipTooBig(
            f"it unpacks to {_mb(total)} ({_mb(markup)} of it text markup), past the "
            f"{_mb(limits.total_bytes)} ({_mb(limits.markup_bytes)} of markup) Parley reads: "
            "a document that big is damaged or built to exhaust memory (a zip bomb)"
        )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB"
