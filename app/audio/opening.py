"""Opening a device on a thread of its own, so that no caller waits on the sound system.

A sound server that hangs (frozen, not gone) holds PortAudio's open for 30 s, and the first
listing of the devices (importing sounddevice) for 120 s here, however small the request.
The window's thread asks for the speaker when a turn begins and for the microphone when the
key goes down: it may wait a moment (an open takes 3-100 ms here), never longer. What is not
done by then goes on in the background: the device is used once it opens, and a sound system
that has not answered after OPEN_TIMEOUT_SECONDS is said not to answer (see trouble()).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from app.audio.backend import AudioUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# As long as an open stream may stay silent before it counts as hung (STALL_SECONDS).
OPEN_TIMEOUT_SECONDS = 5.0

NOT_ANSWERING = (
    "The sound system is not answering (PulseAudio or PipeWire may be stuck), so Parley "
    "cannot use the {what}. {instead} Parley uses it again as soon as it answers."
)


def not_answering(what: str) -> str:
    """What the user reads about a device whose sound system hangs."""
    instead = "You can type." if what == "microphone" else "Replies are shown as text."
    return NOT_ANSWERING.format(what=what, instead=instead)


class Attempt(Generic[T]):
    """One call that may hang, run on a daemon thread: its value, or why it failed."""

    def __init__(self, job: Callable[[], T], name: str) -> None:
        self.began = time.monotonic()
        self.value: T | None = None
        self.error = ""
        self.reported = False  # its owner has said it does not answer (it may still)
        self._job = job
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._cleanup: Callable[[T], None] | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        value: T | None = None
        try:
            value = self._job()
        except AudioUnavailable as exc:
            self.error = str(exc)
        except Exception as exc:  # PortAudio's own errors: logged, never shown
            log.warning("opening an audio device failed: %s", exc)
            self.error = "The sound system refused the device."
        with self._lock:
            self.value = value
            self._done.set()
            cleanup = self._cleanup
        if cleanup is not None and value is not None:
            cleanup(value)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, seconds: float | None) -> bool:
        """Wait at most `seconds` (None: as long as it takes); whether it is done."""
        return self._done.wait(seconds)

    def overdue(self) -> bool:
        return not self.done and time.monotonic() - self.began > OPEN_TIMEOUT_SECONDS

    def abandon(self, cleanup: Callable[[T], None]) -> None:
        """Nobody wants the value any more: `cleanup` gets it, now or when it comes."""
        with self._lock:
            if not self.done:
                self._cleanup = cleanup
                return
            value = self.value
        if value is not None:
            cleanup(value)
