"""Inputs must be files: a FIFO given as `--audio` waited forever for a writer, a device
(/dev/zero, /dev/urandom) never ends, a socket can't be read. Each reader asks
`special_file` before opening what the user named (on the command line, in Settings, dropped
on the window) and refuses it with a sentence."""

from __future__ import annotations

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
