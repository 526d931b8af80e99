"""One assistant: the bus, the engines, the turn manager and the audio, wired together.

The GUI, the headless CLI and the tests all build a Session, so they run the same core.
"""

from __future__ import annotations

import asyncio
import logging

from app.audio.backend import AudioBackend, AudioUnavailable
from app.audio.capture import Recorder
from app.audio.playback import Player
from app.bus import EventBus
from app.bus.events import (
    EngineStatus,
    ErrorRaised,
    PlaybackFinished,
    PlaybackStarted,
    RecordingStarted,
    TurnFinished,
    UserTurn,
)
from app.config import Settings
from app.pipeline.engines import Engines
from app.pipeline.turns import AudioSink, TurnManager
from app.storage.chats import ChatStore

log = logging.getLogger(__name__)

# The speaker is closed once this long has passed with no turn and nothing playing: an open
# stream plays silence through the sound server, 60 ms of CPU a second here (both processes
# together), on a machine doing nothing. It opens again when a turn begins (about 3 ms), while
# the key is held or the typed question is read, so no reply waits for it.
SPEAKER_IDLE_SECONDS = 10.0


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
        self.audio_error = " ".join(dict.fromkeys(problems))
        if problems:
            self.bus.publish(EngineStatus(engine="audio", state="error", detail=self.audio_error))
        else:
            mic = recorder.device.name if recorder.device else "?"
            speaker = player.device.name if player.device else "?"
            names = f"{mic} / {speaker}"
            self.bus.publish(EngineStatus(engine="audio", state="ready", detail=names))
        return self.player

    def _speaker_needed(self, ev: RecordingStarted | UserTurn) -> None:
        """A turn begins: the speaker opens now, not when its first sample is ready."""
        if self._idle_close is not None:
            self._idle_close.cancel()
            self._idle_close = None
        problem = self.player.ensure_open() if self.player is not None else ""
        if problem:
            self.bus.publish(
                ErrorRaised(turn_id=ev.turn_id, source="audio", message=f"Can't speak: {problem}")
            )

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

    def start(self) -> None:
        self.engines.start()

    def close(self, keep_engines: bool = False) -> None:
        """Stop everything; with `keep_engines`, the engines go on for another session
        (benchmarks run sessions one after another on one set of loaded models)."""
        if self._idle_close is not None:
            self._idle_close.cancel()
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
