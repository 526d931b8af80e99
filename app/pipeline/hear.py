"""Hear: the user's audio to text.

While the talk key is held, speech is transcribed as it comes (app/stt/live.py), so that at
release only the last words are left to do, and a pause hands the words so far to whoever
wants to start a reply early (see TurnManager._speculate). Without live transcription the
whole recording is transcribed at release, on the STT worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from app.audio.capture import Recorder
from app.config import Settings
from app.logs import unexpected
from app.pipeline.engines import Engines
from app.pipeline.turn import StageFailed, Turn, outcome
from app.stt.base import SpeechToText
from app.stt.live import LiveTranscriber

log = logging.getLogger(__name__)

NO_SPEECH = "I didn't hear anything. Hold the talk button (or Space) while you speak."


class Hear:
    def __init__(self, engines: Engines, settings: Settings) -> None:
        self.engines = engines
        self.settings = settings

    def listen(
        self,
        turn: Turn,
        recorder: Recorder | None,
        on_pause: Callable[[str], None],
        on_resumed: Callable[[], None],
    ) -> None:
        """The key went down: transcribe what `recorder` captures while it is held (where
        live transcription is on). `on_pause` hears the words so far at each pause, and
        `on_resumed` that the speaker went on after it."""
        stt = self.engines.stt
        if recorder is None or stt is None or not self.settings.live_transcription:
            return
        turn.live = LiveTranscriber(
            stt,
            self.engines.worker("stt"),
            recorder,
            on_partial=on_pause,
            on_resumed=on_resumed,
        )
        turn.live.start()

    async def transcribe(self, turn: Turn, audio: np.ndarray) -> str:
        """The transcript of the turn's whole recording ('' if nothing was said)."""
        if turn.live is not None:
            try:
                return await turn.live.finish(audio)
            except Exception as exc:
                log.exception("live transcription failed")
                raise StageFailed("stt", f"Transcription failed: {unexpected(exc)}.") from exc

        def job() -> str:
            stt: SpeechToText = self.engines.require("stt")
            return stt.transcribe(audio)

        work = self.engines.worker("stt").run(job)
        return await outcome("stt", work, "Can't transcribe", "Transcription failed")


def is_long_recording(turn: Turn, settings: Settings) -> bool:
    """A recording longer than the talk limit. A hold the limit cut short is a question whose
    audio may run a block past the limit; it is still a question."""
    return turn.from_file and turn.audio_seconds > settings.max_talk_seconds
