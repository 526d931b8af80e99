"""Inputs must be files: a FIFO given as `--audio` waited forever for a writer, a device
(/dev/zero, /dev/urandom) never ends, a socket can't be read. Each reader asks
`special_file` before opening what the user named (on the command line, in Settings, dropped
on the window) and refuses it with a sentence."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_file(path: Path | str, what: str = "a file") -> str:
    """Why `path` is refused ('' for a regular file, a folder, or nothing there: those are
    each reader's own business): it is a pipe, a device or a socket. `what` is what was
    expected ("an audio file")."""
    try:
        mode = os.stat(path).st_mode  # through symlinks: a link to /dev/zero is a device
    except (OSError, ValueError):
        return ""
    for test, kind in _KINDS:
        if test(mode):
            return (
                f"{path} is {kind}, not {what}; Parley reads only files "
                "(save the data to a file first)."
            )
    return ""


def cannot_read(path: Path | str, exc: OSError) -> str:
    """A sentence for an input that could not be opened or read (Python's own wording,
    "[Errno 13] Permission denied: 'x'", says neither what to do nor, in a traceback, much)."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"Parley can't read {path}: you don't have permission to. Give yourself read "
            "access (chmod u+r, or ask its owner), or copy it somewhere you can read."
        )
    return f"Parley can't read {path}: {exc.strerror or exc}."


def shown_name(path: Path | str) -> str:
    """The file's name as it can be shown, stored and sent: a byte that is not UTF-8 (legal in
    a Linux name) becomes U+FFFD. Python keeps such a byte as a lone surrogate, which SQLite,
    JSON and HTTP refuse: the answer failed and an assistant's add-file was a traceback."""
    name = Path(path).name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
