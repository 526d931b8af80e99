"""The hands-free mode as the window switches it: on (the open microphone and the HandsFree
core, the same as `parley listen`), muted (the microphone closed, the mode kept), or off.

Everything that may take long is done off the window's thread: the VAD, the echo canceller
and Smart Turn load on a thread (about 0.3 s here), and the microphone opens on one (a sound
server that hangs held an open for 30 s). The states go out as HandsFreeState ("starting",
"muted", "off", then the core's own), so the window only draws what it is told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.audio.backend import AudioBackend, AudioUnavailable
from app.audio.playback import Player
from app.bus.events import HandsFreeState
from app.pipeline.hands_free import HandsFree
from app.pipeline.open_mic import OpenMic
from app.pipeline.turns import TurnManager
from app.stt.end_of_turn import EndOfTurn

log = logging.getLogger(__name__)

_BROKEN = "Hands-free could not start (see the log); hold the talk key instead."


class HandsFreeSwitch:
    """`switch(True)` / `switch(False)` / `mute(...)` from the loop; each returns at once and
    the result arrives as HandsFreeState (an open that fails: "off" with the reason)."""

    def __init__(
        self,
        turns: TurnManager,
        backend: AudioBackend | None,
        speaker: Callable[[], Player | None],
    ) -> None:
        self.turns = turns
        self.bus = turns.bus
        self.backend = backend
        self.speaker = speaker  # the session's player now (it is replaced when devices change)
        self.on = False
        self.muted = False
        self.hands: HandsFree | None = None
        self._generation = 0  # each open and close: an open overtaken by one closes itself
        self._tasks: set[asyncio.Task[None]] = set()
        self._held = False

    @property
    def listening(self) -> bool:
        """The microphone is open (or opening) for hands-free."""
        return self.on and not self.muted

    def switch(self, on: bool) -> None:
        if on == self.on:
            return
        self.on = on
        if on and not self.muted:
            self._open()
        elif not on:
            self._close()
            self._say("off")

    def mute(self, muted: bool) -> None:
        if muted == self.muted:
            return
        self.muted = muted
        if not self.on:
            return
        if muted:
            self._close()
            self._say("muted")
        else:
            self._open()

    def hold(self, held: bool) -> None:
        """The talk key is down / up (it works in hands-free mode as without it)."""
        self._held = held
        if self.hands is not None:
            self.hands.hold(held)

    def restart(self) -> None:
        """The devices changed (Settings): open the new microphone, tap the new speaker."""
        if self.listening:
            self._close()
            self._open()

    def close(self) -> None:
        self.on = False
        self._close()

    def _open(self) -> None:
        self._generation += 1
        self._say("starting")
        task = asyncio.ensure_future(self._start(self._generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, generation: int) -> None:
        """Load, then open; never cancelled (a thread opening the microphone can't be), so
        whatever comes of it after a later switch or mute is closed here."""
        if self.backend is None:
            self._failed("There is no sound device, so Parley can't listen hands-free.")
            return
        try:
            mic, end_of_turn = await asyncio.to_thread(self._load)
            if generation != self._generation:
                return  # switched off or muted while it loaded: nothing is open yet
            hands = self.hands = HandsFree(self.turns, mic, self.speaker(), end_of_turn)
            hands.held = self._held
            await hands.open()
        except Exception as exc:  # noqa: BLE001 (a model or device that fails: said, not raised)
            if not isinstance(exc, AudioUnavailable):
                log.error("hands-free could not start", exc_info=exc)
            if generation == self._generation:
                self._close()
                self._failed(str(exc) if isinstance(exc, AudioUnavailable) else _BROKEN)
            return
        if generation != self._generation:
            hands.close()  # closed meanwhile: the microphone it has just opened goes too

    def _load(self) -> tuple[OpenMic, EndOfTurn]:
        """The open microphone (its VAD, its echo canceller) and the end-of-turn model: on a
        worker's thread, as they load."""
        assert self.backend is not None
        mic = OpenMic(self.backend, self.turns.settings.input_device or None)
        return mic, EndOfTurn.default()

    def _close(self) -> None:
        self._generation += 1
        hands, self.hands = self.hands, None
        if hands is not None:
            hands.close()

    def _failed(self, problem: str) -> None:
        log.warning("hands-free: %s", problem)
        self.on = False
        self._say("off", problem)

    def _say(self, state: str, message: str = "") -> None:
        self.bus.publish(HandsFreeState(state=state, message=message))
