"""Writing to a path the user named (`--say OUT.wav`, `chats export -o`, `export-dataset`).

A regular file is written whole or not at all: a temporary file beside it, renamed over it,
with the old file's permissions. Anything else is written the way a user who named it means:
a symlink is followed (its target gets the data, the link stays), a device or a FIFO is
written into (`/dev/null`, a pipe another program reads), never renamed over: that had
replaced /dev/full with a WAV and reported success. A failed write raises OSError.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import stat
from pathlib import Path


def output_problem(path: Path, what: str = "the output") -> str:
    """Why `path` can't take the output ('' when it can), before any work is done: a
    folder, a socket, a file or folder without write permission."""
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        folder = target.parent
        if not folder.is_dir():
            return f"Cannot write {what} to {path}: the folder {folder} does not exist."
        if not os.access(folder, os.W_OK | os.X_OK):
            return (
                f"Cannot write {what} to {path}: you may not write into the folder {folder}; "
                "choose a folder you can write to."
            )
        return ""
    except OSError as exc:  # a folder on the way that may not be looked into
        return f"Cannot write {what} to {path}: {exc.strerror or exc}; choose another place."
    if stat.S_ISDIR(st.st_mode):
        return f"Cannot write {what} to {path}: it is a folder; give a file name."
    if stat.S_ISSOCK(st.st_mode):
        return f"Cannot write {what} to {path}: it is a socket, not a file."
    if not os.access(target, os.W_OK):
        return (
            f"Cannot write {what} to {path}: you may not change that file; choose another "
            "name, or a folder you can write to."
        )
    # A FIFO is not opened to see whether a program reads it: closing that probe would end
    # the reader's input. Nobody reading at the write is an error then, not a hang.
    return ""


_SAID = {
    errno.ENXIO: "nobody is reading that pipe (FIFO); start the program that reads it first, "
    "or give a file name",
    errno.EPIPE: "the program reading that pipe stopped reading",
    errno.EACCES: "you don't have permission to write there",
    errno.EPERM: "you don't have permission to write there",
    errno.EROFS: "it is on a read-only disk",
    errno.EISDIR: "it is a folder; give a file name",
    errno.EIO: "the disk or device reported a read/write error",
    errno.EFBIG: "the file would be larger than that disk allows",
}


def write_failure(path: Path, exc: OSError, what: str = "the output") -> str:
    """Why `what` could not be written to `path`, in plain words and naming it once: the
    OSError's own text ("[Errno 28] No space left on device: '/dev/full'") said neither."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            device = not stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            device = False
        why = (
            "the device is full"
            if device
            else "the disk is full; free some space or choose another disk"
        )
    else:
        why = _SAID.get(exc.errno or 0) or (exc.strerror or str(exc)).rstrip(".")
    return f"Could not write {what} to {path}: {why}."


def write_output(path: Path, data: bytes) -> None:
    """Put `data` at `path`: atomically for a regular file (or a new one), straight into a
    device or FIFO, through a symlink to where it points. Raises OSError."""
    target = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_into(target, data)
    else:
        _replace(target, data, None if st is None else stat.S_IMODE(st.st_mode))


def _write_into(target: Path, data: bytes) -> None:
    """Write into a device or FIFO as it is: no creating, truncating or renaming. Opened
    without blocking, so a FIFO no program reads is an error, not a hang."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(exc.errno, "no program is reading from it", str(target)) from None
        raise
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _replace(target: Path, data: bytes, mode: int | None) -> None:
    """A temporary file beside `target`, renamed over it: a full disk leaves the old file
    (or none), never half of one. The new file keeps the old one's permissions."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
