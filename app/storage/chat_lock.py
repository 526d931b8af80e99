"""One writer per conversation at a time, across processes.

Two `parley ask --continue` at once had interleaved their questions and answers in one chat
(Q-banana, Q-apple, "Apple.", "Banana."), each answer made from a history without the other.
A process that writes to a chat holds a lock on it: a POSIX record lock on the chat id's byte
of `conversations.lock` beside the database, taken before the chat's history is read (or, for
a chat it starts, as the chat is created) and released when the process ends, however it
ends. A second `ask` waits for the first to finish, then goes on with the whole history.

The window holds the chat it shows for as long as it shows it (KeptChat), and marks it as a
window's with a second byte (WINDOW_BASE + the chat id): an `ask` on that chat is refused at
once, saying so, since a window may keep it all day. A chat another process holds is shown
in the window to be read, not written, until it is free.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = "conversations.lock"
WAIT_SECONDS = 600.0  # a long reply on two cores takes a minute or two; past this, refuse
WINDOW_BASE = 1 << 40  # a window's mark on chat N is byte WINDOW_BASE + N: past any chat id
POLL_SECONDS = 0.5  # how often a window looks whether a chat held elsewhere is free


class ChatBusy(Exception):
    """Another process kept the conversation for longer than we would wait."""


class ChatLocks:
    def __init__(self, folder: Path, window: bool = False) -> None:
        self.path = folder / LOCK_NAME
        self.window = window  # a window's locks also mark the chat as a window's
        self._fd: int | None = None
        self._held: set[int] = set()

    def _file(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.info("chats are not locked: %s: %s", self.path, exc)
        return self._fd

    def claim(self, chat_id: int) -> bool:
        """Take the chat if no other process has it; whether it was taken. Where the lock
        file can't be made (a read-only folder: nothing can be saved there either), every
        chat is free."""
        fd = self._file()
        if fd is None:
            return True
        if not _lock(fd, chat_id):
            return False
        if self.window and not _lock(fd, WINDOW_BASE + chat_id):
            _unlock(fd, chat_id)  # another window's, letting it go
            return False
        self._held.add(chat_id)
        return True

    def release(self, chat_id: int) -> None:
        """Let the chat go (the window shows another one)."""
        if self._fd is None or chat_id not in self._held:
            return
        self._held.discard(chat_id)
        if self.window:  # the mark first: whoever takes the chat next finds it unmarked
            _unlock(self._fd, WINDOW_BASE + chat_id)
        _unlock(self._fd, chat_id)

    def in_window(self, chat_id: int) -> bool:
        """Whether a window of another process keeps the chat. Asked with this one file
        descriptor: closing any other on the file would release every lock we hold."""
        fd = self._file()
        if fd is None or chat_id in self._held:
            return False
        if not _lock(fd, WINDOW_BASE + chat_id):
            return True
        _unlock(fd, WINDOW_BASE + chat_id)
        return False

    def wait_for(
        self, chat_id: int, waiting: Callable[[], None], seconds: float = WAIT_SECONDS
    ) -> None:
        """Take the chat, waiting for another `ask` to let it go (`waiting` is called once,
        when that begins); ChatBusy after `seconds`, or at once if a window keeps it."""
        if self.claim(chat_id):
            return
        started = False
        give_up = time.monotonic() + seconds
        while not self.claim(chat_id):
            if self.in_window(chat_id):
                raise ChatBusy(
                    f"Conversation {chat_id} is open in the Parley window, which writes to it. "
                    "Switch the window to another chat (or close it) and ask again, or ask "
                    "without --continue to start a new conversation."
                )
            if not started:
                started = True
                waiting()
            if time.monotonic() > give_up:
                raise ChatBusy(
                    f"Conversation {chat_id} was still busy with another question after "
                    f"{seconds / 60:.0f} minutes; try again when it has its answer."
                )
            time.sleep(0.1)  # polled, not blocking: Ctrl-C still works while waiting

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases every chat this process held
            self._fd = None
            self._held.clear()


# Open-file-description locks (Linux): a lock belongs to the open file, not the process. With
# POSIX record locks, a second ChatLocks on the same folder in one process (a second store)
# released every chat the first held as it closed its own descriptor, and another process
# could then write into a chat this one was still answering.
_OFD = getattr(fcntl, "F_OFD_SETLK", None)


def _ofd(fd: int, kind: int, byte: int) -> None:
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)
    fcntl.fcntl(fd, _OFD, struct.pack("hhqqi4x", kind, os.SEEK_SET, byte, 1, 0))


def _lock(fd: int, byte: int) -> bool:
    try:
        if _OFD is not None:
            _ofd(fd, fcntl.F_WRLCK, byte)
        else:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
    except (BlockingIOError, PermissionError):
        return False  # another holder (EAGAIN, or EACCES on some systems)
    return True


def _unlock(fd: int, byte: int) -> None:
    if _OFD is not None:
        _ofd(fd, fcntl.F_UNLCK, byte)
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, byte)


class KeptChat:
    """The chat a window shows, kept to it: taken when it is opened or started, let go when
    the window shows another or closes. One another process holds is watched (a lock try
    every POLL_SECONDS, which never blocks) and `on_free` is called once it is free."""

    def __init__(
        self, locks: ChatLocks, loop: asyncio.AbstractEventLoop, on_free: Callable[[int], None]
    ) -> None:
        self.locks = locks
        self.loop = loop
        self.on_free = on_free
        self.chat_id: int | None = None
        self.busy = False  # the chat shown is another process's: read, not written
        self._poll: asyncio.TimerHandle | None = None

    def show(self, chat_id: int | None) -> bool:
        """Keep `chat_id` (None: a new chat, kept as it is created); let the one before go.
        Whether the window may write to it."""
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        if self.chat_id is not None and self.chat_id != chat_id:
            self.locks.release(self.chat_id)
        self.chat_id = chat_id
        self.busy = chat_id is not None and not self.locks.claim(chat_id)
        if self.busy:
            self._poll = self.loop.call_later(POLL_SECONDS, self._look)
        return not self.busy

    def held_by_window(self) -> bool:
        """Whether the busy chat is another window's (kept as long as it is shown there),
        rather than a question being answered."""
        return self.chat_id is not None and self.busy and self.locks.in_window(self.chat_id)

    def _look(self) -> None:
        self._poll = None
        chat_id = self.chat_id
        if chat_id is None or not self.busy:
            return
        if self.locks.claim(chat_id):
            self.busy = False
            self.on_free(chat_id)
        else:
            self._poll = self.loop.call_later(POLL_SECONDS, self._look)

    def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
