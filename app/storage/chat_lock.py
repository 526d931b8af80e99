"""One writer per conversation at a time, across processes.

Two `parley ask --continue` at once had interleaved their questions and answers in one chat
(Q-banana, Q-apple, "Apple.", "Banana."), each answer made from a history without the other.
A process that writes to a chat holds a lock on it: a POSIX record lock on the chat id's byte
of `conversations.lock` beside the database, taken before the chat's history is read (or, for
a chat it starts, as the chat is created) and released when the process ends, however it
ends. A second writer waits for the first to finish, then goes on with the whole history.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = "conversations.lock"
WAIT_SECONDS = 600.0  # a long reply on two cores takes a minute or two; past this, refuse


class ChatBusy(Exception):
    """Another process kept the conversation for longer than we would wait."""


class ChatLocks:
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def claim(self, chat_id: int) -> bool:
        """Take the chat if no other process has it; whether it was taken. Where the lock
        file can't be made (a read-only folder: nothing can be saved there either), every
        chat is free."""
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.info("chats are not locked: %s: %s", self.path, exc)
                return True
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, chat_id)
        except (BlockingIOError, PermissionError):
            return False  # another process holds it (EAGAIN, or EACCES on some systems)
        return True

    def wait_for(
        self, chat_id: int, waiting: Callable[[], None], seconds: float = WAIT_SECONDS
    ) -> None:
        """Take the chat, waiting for another process to let it go (`waiting` is called once,
        when that begins); ChatBusy after `seconds`."""
        if self.claim(chat_id):
            return
        waiting()
        give_up = time.monotonic() + seconds
        while not self.claim(chat_id):
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
