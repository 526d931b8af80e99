"""Where Parley's log goes: a file the user can attach to a bug report, not their terminal.

A user sees Parley's own one-line messages ("parley: ..."); the log (warnings, the details of
failures, tracebacks) goes to `log_file()`, and to stderr as well with --verbose.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Any

import platformdirs

from app import APP_NAME

LOG_BYTES = 1_000_000  # then it rolls over, keeping 2 older files


def log_file() -> Path:
    """The log: PARLEY_LOG_DIR overrides the platform's log folder."""
    override = os.environ.get("PARLEY_LOG_DIR")
    folder = Path(override) if override else Path(platformdirs.user_log_dir(APP_NAME))
    return folder / "parley.log"


class _PrivateFileHandler(logging.handlers.RotatingFileHandler):
    """The log, and each file it rolls over to, readable by the user only: it holds what
    was asked and answered, in failures' details."""

    def _open(self) -> Any:
        def owner_only(path: str, flags: int) -> int:
            return os.open(path, flags, 0o600)

        return open(
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=owner_only,
        )


_OWN = ("app", "__main__", "bench", "tests")


class _OwnDebugOnly(logging.Filter):
    """Debug lines from Parley's own code only: a library's (PIL's "STREAM b'IHDR' 16 13",
    one a PNG chunk) are noise to someone reading --verbose for what Parley did. Libraries'
    information, warnings and errors still come through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG or record.name.split(".")[0] in _OWN


def setup_logging(verbose: bool = False) -> Path | None:
    """Send the log to `log_file()` (and stderr when `verbose`); the file, or None when it
    can't be written (then only critical messages reach stderr: never a traceback)."""
    logging.raiseExceptions = verbose  # a log write failing (full disk) prints nothing
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    form = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    path: Path | None = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = _PrivateFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=2, encoding="utf-8", delay=True
        )
        to_file.setFormatter(form)
        to_file.addFilter(_OwnDebugOnly())
        root.addHandler(to_file)
    except OSError:  # a read-only home, a full disk: the app still runs
        path = None
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    to_stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    to_stderr.addFilter(_OwnDebugOnly())
    root.addHandler(to_stderr)
    return path


def unexpected(exc: BaseException) -> str:
    """An unforeseen failure in words for the user: what it says, not the exception's class
    name (ValueError means nothing to them), and where a bug report's details are."""
    said = " ".join(str(exc).split())[:300].rstrip(".") or "an unexpected error"
    return f"{said} (the details are in Parley's log, {log_file()})"
