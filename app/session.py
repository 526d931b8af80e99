"""One assistant: the bus, the engines, the turn manager and the audio, wired together.

The GUI, the headless CLI and the tests all build a Session, so they run the same core.

A microphone or speaker can go away at any moment (the sound server stops or restarts, a
headset is unplugged). While either is open the session looks at it a few times a second
(`WATCH_SECONDS`); when one is gone it says so once (AudioLost, and the audio status turns to
an error), a reply being spoken goes on as text, and the next turn, or a probe of the speaker
every few seconds while nothing runs, opens it again once it is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from app.audio.backend import AudioBackend, AudioUnavailable, Kind
from app.audio.capture import Recorder
from app.audio.playback import OPEN_WAIT_SECONDS, Player
from app.bus import EventBus
from app.bus.events import (
    AudioLost,
    EngineStatus,
    PlaybackFinished,
    PlaybackStarted,
    RecordingStarted,
    TurnFinished,
    UserTurn,
)
from app.config import Settings
from app.pipeline.engines import Engines
from app.pipeline.turn import AudioSink
from app.pipeline.turns import TurnManager
from app.storage.chats import ChatStore

log = logging.getLogger(__name__)

# The speaker is closed once this long has passed with no turn and nothing playing: an open
# stream plays silence through the sound server, 60 ms of CPU a second here (both processes
# together), on a machine doing nothing. It opens again when a turn begins (about 3 ms), while
# the key is held or the typed question is read, so no reply waits for it.
SPEAKER_IDLE_SECONDS = 10.0
# How often an open device is looked at: a lost speaker ends its turn this soon (a look is a
# flag and a clock read); and how often a lost speaker is tried again while nothing runs (a
# failed open takes about a millisecond).
WATCH_SECONDS = 0.25
PROBE_SECONDS = 3.0


class Session:
    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        engines: Engines | None = None,
        backend: AudioBackend | None = None,
        sink: AudioSink | None = None,
        store: ChatStore | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.engines = engines or Engines(bus, settings)
        self.backend = backend
        self.recorder: Recorder | None = None
        self.player: Player | None = None
        self.audio_error = ""
        self._missing = ""  # what was not there when the audio was opened
        self._lost: dict[Kind, str] = {}  # devices that went away since, and why
        self._watching: asyncio.TimerHandle | None = None
        self._probing = 0.0  # since when a probe is opening the lost speaker (0: none is)
        self._probed_at = 0.0
        self._closed = False
        if sink is None and backend is not None:
            sink = self._open_audio(backend)
        self.store = store
        self.turns = TurnManager(bus, self.engines, settings, sink, store)
        self.speaker_idle_seconds = SPEAKER_IDLE_SECONDS
        self._idle_close: asyncio.TimerHandle | None = None
        self._unsubscribe = [
            bus.subscribe(RecordingStarted, self._speaker_needed),
            bus.subscribe(UserTurn, self._speaker_needed),
            bus.subscribe(PlaybackFinished, self._speaker_idle_later),
            bus.subscribe(TurnFinished, self._speaker_idle_later),
        ]
        self._speaker_idle_later(None)  # opened to check it works; not kept open for nothing
        self._watch_soon()

    def _open_audio(self, backend: AudioBackend) -> AudioSink | None:
        """Open the speaker and find the microphone; on failure say why and carry on as text."""
        problems = []
        try:
            recorder = Recorder(backend, self.settings.input_device or None)
            recorder.device = backend.resolve(recorder.device_spec, "input")
            self.recorder = recorder
        except AudioUnavailable as exc:
            problems.append(str(exc))
        player = Player(
            backend,
            self.settings.output_device or None,
            on_started=lambda t: self.bus.publish_threadsafe(PlaybackStarted(turn_id=t)),
            on_finished=lambda t: self.bus.publish_threadsafe(PlaybackFinished(turn_id=t)),
        )
        try:
            player.open()
            self.player = player
        except AudioUnavailable as exc:
            problems.append(str(exc))
        self.audio_error = self._missing = " ".join(dict.fromkeys(problems))
        self._lost.clear()
        if problems:
            self.bus.publish(EngineStatus(engine="audio", state="error", detail=self.audio_error))
        else:
            mic = recorder.device.name if recorder.device else "?"
            speaker = player.device.name if player.device else "?"
            names = f"{mic} / {speaker}"
            self.bus.publish(EngineStatus(engine="audio", state="ready", detail=names))
        return self.player

    def _speaker_needed(self, ev: RecordingStarted | UserTurn) -> None:
        """A turn begins: the speaker opens now, not when its first sample is ready; one that
        will not open leaves the turn to be answered as text."""
        if self._idle_close is not None:
            self._idle_close.cancel()
            self._idle_close = None
        player = self.player
        if player is not None and not player.is_open:
            problem = player.ensure_open(wait=OPEN_WAIT_SECONDS)  # a probe may be opening it
            if problem:
                self._audio_trouble("output", problem)
                self.turns.speaker_lost()  # this turn is answered as text
            else:
                self._audio_back("output")
        self._watch_soon()

    def _probe_speaker(self) -> None:
        """Is the lost speaker back? Tried on a thread of its own: against a sound server that
        hangs, an open waited 30 s here, and this is the window's thread."""
        player = self.player
        if player is None:
            return
        self._probing = time.monotonic()
        loop = self.bus.loop

        def run() -> None:
            problem = player.ensure_open()
            try:
                loop.call_soon_threadsafe(self._probed, player, problem)
            except RuntimeError:  # the loop is gone (Parley quit while this waited)
                player.close()

        threading.Thread(target=run, name="speaker-probe", daemon=True).start()

    def _probed(self, player: Player, problem: str) -> None:
        self._probing = 0.0
        if player is not self.player or self._closed:  # devices changed, or Parley quits
            player.close()
            return
        if not problem:
            self._audio_back("output")
            self._speaker_idle_later(None)  # closed again once idle, as after a turn
        self._watch_soon()

    def microphone_failed(self, problem: str) -> None:
        """The microphone would not open for a hold: the audio status says so until it does
        (the caller tells the user, at each hold)."""
        self._audio_trouble("input", problem, announce=False)

    def _watch_soon(self, delay: float = WATCH_SECONDS) -> None:
        if self._watching is None:
            self._watching = self.bus.loop.call_later(delay, self._watch)

    def _watch(self) -> None:
        """Look at the open devices (see the module's docstring); try a lost speaker again."""
        self._watching = None
        player, recorder = self.player, self.recorder
        if player is not None:
            problem = player.trouble()
            if problem:
                player.lose()
                self._audio_trouble("output", problem)
                self.turns.speaker_lost()
            elif (
                "output" in self._lost
                and not self._probing
                and self.turns.current is None  # a turn tries it itself as it begins
                and time.monotonic() - self._probed_at >= PROBE_SECONDS
            ):
                self._probed_at = time.monotonic()
                self._probe_speaker()
        if recorder is not None and recorder.recording:
            problem = recorder.trouble()
            if problem:
                self._audio_trouble("input", problem)  # the hold's owner stops it
            else:
                self._audio_back("input")
        if (player is not None and player.is_open) or (recorder is not None and recorder.recording):
            self._watch_soon()
        elif player is not None and "output" in self._lost:
            self._watch_soon(PROBE_SECONDS)

    def _audio_trouble(self, kind: Kind, problem: str, announce: bool = True) -> None:
        """`kind` went away or would not open: said once (AudioLost), until it is back."""
        if kind in self._lost:
            return
        log.warning("the %s is unavailable", "microphone" if kind == "input" else "speaker")
        self._lost[kind] = problem
        self.audio_error = " ".join(dict.fromkeys([self._missing, *self._lost.values()])).strip()
        if announce:
            self.bus.publish(AudioLost(kind=kind, message=problem))
        self.bus.publish(EngineStatus(engine="audio", state="error", detail=problem))

    def _audio_back(self, kind: Kind) -> None:
        if self._lost.pop(kind, None) is None:
            return
        log.info("the %s is back", "microphone" if kind == "input" else "speaker")
        self.audio_error = " ".join(dict.fromkeys([self._missing, *self._lost.values()])).strip()
        if not self.audio_error:
            devices = [x.device for x in (self.recorder, self.player) if x and x.device]
            names = " / ".join(d.name for d in devices)
            self.bus.publish(EngineStatus(engine="audio", state="ready", detail=names))

    def _speaker_idle_later(self, _ev: PlaybackFinished | TurnFinished | None) -> None:
        if self.player is None:
            return
        if self._idle_close is not None:
            self._idle_close.cancel()
        self._idle_close = self.bus.loop.call_later(self.speaker_idle_seconds, self._speaker_idle)

    def _speaker_idle(self) -> None:
        self._idle_close = None
        if self.player is None:
            return
        if self.turns.current is not None:  # a turn runs: its end schedules this again
            return
        if self.player.close_if_idle():
            log.debug("speaker closed: idle for %.0f s", self.speaker_idle_seconds)

    def reopen_audio(self) -> None:
        """Apply changed device settings: close the old streams, open the chosen ones."""
        if self.backend is None:
            return
        self.turns.interrupt("audio devices changed")
        if self.recorder is not None and self.recorder.recording:
            self.recorder.stop()
        if self.player is not None:
            self.player.close()
        self.recorder = self.player = None
        self.turns.sink = self._open_audio(self.backend)
        self._speaker_idle_later(None)
        self._watch_soon()

    def start(self) -> None:
        self.engines.start()

    def close(self, keep_engines: bool = False) -> None:
        """Stop everything; with `keep_engines`, the engines go on for another session
        (benchmarks run sessions one after another on one set of loaded models)."""
        if self._idle_close is not None:
            self._idle_close.cancel()
        self._closed = True
        if self._watching is not None:
            self._watching.cancel()
            self._watching = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.turns.interrupt("shutdown", clear_pending=True)
        self.turns.close()
        if self.recorder is not None and self.recorder.recording:
            self.recorder.stop()
        if self.player is not None:
            self.player.close()
        if not keep_engines:
            self.engines.shutdown()
