"""Ctrl-C: one press stops what Parley is doing and exits at once, a second one even sooner.

Python's default turns SIGINT into a KeyboardInterrupt raised wherever the main thread
happens to be, which in Parley is rarely where it helps: `ask` waited for the LLM worker
thread to finish its reply (47 s) and then printed asyncio's traceback, a remote server
trickling tokens held it for minutes, and in the window it surfaced inside a Qt event
filter and did not quit. Here the first SIGINT asks the caller to stop (`on_first`, which
saves what there is and exits) and arms a watchdog that exits anyway after `grace`
seconds; a second SIGINT exits at once. Worker threads blocked in llama.cpp or a socket
are never waited for: the process ends with `os._exit`, after stdout, stderr and the log
are flushed (the conversation store commits each message as it is saved).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

EXIT_CODE = 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl-C
STOPPED = "Stopped (Ctrl-C)."
GRACE_SECONDS = 2.0


# stdout and stderr as they were when Ctrl-C handling was installed (streams, and copies of
# their descriptors): while a model loads, llama-cpp-python points both, objects and fds 1
# and 2, at /dev/null, and a Ctrl-C in that time must still be said (the window's first
# seconds, `ask` before its first word).
_terminal: dict[int, int] = {}
_streams: list[object] = []


def _keep_output() -> None:
    if not _streams:
        _streams.extend((sys.stdout, sys.stderr))
    for fd in (1, 2):
        if fd not in _terminal:
            with contextlib.suppress(OSError):
                _terminal[fd] = os.dup(fd)


def restore_output() -> None:
    """Point stdout and stderr back where they went when Parley started."""
    for fd, kept in _terminal.items():
        with contextlib.suppress(OSError):
            os.dup2(kept, fd)
    if _streams:
        sys.stdout, sys.stderr = _streams  # type: ignore[assignment]


def hard_exit(code: int = EXIT_CODE) -> NoReturn:
    """End the process now, whatever its threads are doing, with the output flushed."""
    restore_output()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed file
            stream.flush()
    logging.shutdown()
    os._exit(code)


class CtrlC:
    """SIGINT handling for one run of Parley (install, then `stop_now` from the stopper)."""

    def __init__(self, on_first: Callable[[], None], grace: float = GRACE_SECONDS) -> None:
        self.on_first = on_first
        self.grace = grace
        self.pressed = 0
        self._previous: object = None

    def install(self) -> None:
        _keep_output()
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._previous = None

    def _handle(self, signum: int, frame: object) -> None:
        self.pressed += 1
        restore_output()  # before anything is said about it
        if self.pressed > 1:
            hard_exit()
        watchdog = threading.Timer(self.grace, hard_exit)
        watchdog.daemon = True
        watchdog.start()
        try:
            self.on_first()
        except Exception:  # the stopper failing must not turn Ctrl-C into a traceback
            logging.getLogger(__name__).exception("stopping after Ctrl-C failed")
            hard_exit()
