"""One assistant: the bus, the engines, the turn manager and the audio, wired together.

The GUI, the headless CLI and the tests all build a Session, so they run the same core.
"""

from __future__ import annotations

import logging

from app.audio.backend import AudioBackend, AudioUnavailable
from app.audio.capture import Recorder
from app.audio.playback import Player
from app.bus import EventBus
from app.bus.events import EngineStatus, PlaybackFinished, PlaybackStarted
from app.config import Settings
from app.pipeline.engines import Engines
from app.pipeline.turns import AudioSink, TurnManager
from app.storage.chats import ChatStore

log = logging.getLogger(__name__)


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

    def start(self) -> None:
        self.engines.start()

    def close(self) -> None:
        self.turns.interrupt("shutdown", clear_pending=True)
        self.turns.close()
        if self.recorder is not None and self.recorder.recording:
            self.recorder.stop()
        if self.player is not None:
            self.player.close()
        self.engines.shutdown()
