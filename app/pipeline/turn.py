"""One turn: what the user said or typed, the reply as it streams, and when each stage was
reached (the timings every log and benchmark reads). The stages (hear, compose, generate,
speak, record) each fill their part; the turn manager owns its id and its cancellation.

A stage that cannot go on raises `StageFailed` with the words the user is shown; the manager
then ends the turn (see TurnManager._fail).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from app.logs import unexpected
from app.models.errors import ModelError
from app.pipeline.engines import EngineUnavailable
from app.pipeline.generate import ReplyTrace
from app.pipeline.reply_feed import ReplyFeed
from app.pipeline.speculation import Speculation
from app.stt.live import LiveTranscriber

log = logging.getLogger(__name__)

TIMING_KEYS = ("stt", "llm_first_token", "llm_total", "tts_first_audio", "first_audio")
WATERFALL_KEYS = (
    "t_transcript",
    "t_first_token",
    "t_first_clause",
    "t_first_chunk",
    "t_first_audio",
    "t_reply_done",
)


class AudioSink(Protocol):
    """Where reply audio goes: the speaker (Player) or a file (CLI --say)."""

    def enqueue(self, turn_id: int, index: int, samples: np.ndarray, rate: int) -> None: ...
    def finish(self, turn_id: int) -> None: ...
    def stop(self) -> dict[int, float]: ...


@dataclass
class Turn:
    id: int
    spoken_input: bool
    speaking: bool
    cancel: threading.Event = field(default_factory=threading.Event)
    transcript: str = ""
    reply: str = ""
    sentences: list[str] = field(default_factory=list)
    feed: ReplyFeed = field(init=False)  # the LLM worker's side of the reply (see _new_turn)
    marks: dict[str, float] = field(default_factory=dict)
    finished: bool = False
    in_history: bool = False
    unheard: bool = False  # meant to be spoken, but the speaker went away: shown, not heard
    images: tuple[Any, ...] = ()
    audio_seconds: float = 0.0  # how long the spoken input was
    from_file: bool = False  # the audio is a recording played in (`ask --audio`), not a hold
    live: LiveTranscriber | None = None
    speculation: Speculation | None = None  # a reply started at a pause, key still held
    # What the model was given, its tool calls and scratchpads, filled on the LLM worker.
    trace: ReplyTrace = field(default_factory=ReplyTrace)

    @property
    def stopped(self) -> bool:
        """Cancelled or over: later stages have nothing to do."""
        return self.cancel.is_set() or self.finished

    def drop_speculation(self) -> None:
        """The reply started at a pause is not wanted (any more): it stops."""
        if self.speculation is not None:
            self.speculation.cancel()
            self.speculation = None

    def mark(self, name: str, at: float) -> None:
        self.marks.setdefault(name, at)

    def notes(self) -> str:
        """The reply's hidden reasoning, every round's scratchpad ('' without think-first)."""
        return self.trace.notes()

    def timings(self) -> dict[str, float | None]:
        m = self.marks

        def span(a: str, b: str) -> float | None:
            return round(m[b] - m[a], 4) if a in m and b in m else None

        return {
            "stt": span("speech_end", "transcript"),
            "llm_first_token": span("llm_start", "first_token"),
            "llm_total": span("llm_start", "llm_done"),
            "tts_first_audio": span("first_sentence", "first_chunk"),
            "first_audio": span("input_end", "first_audio"),
            # The waterfall: each stage as seconds after the end of the user's input.
            "t_transcript": span("input_end", "transcript"),
            "t_first_token": span("input_end", "first_token"),
            "t_first_clause": span("input_end", "first_sentence"),
            "t_first_chunk": span("input_end", "first_chunk"),
            "t_first_audio": span("input_end", "first_audio"),
            "t_reply_done": span("input_end", "llm_done"),
        }


class StageFailed(Exception):
    """A stage cannot go on: `message` says why, to the user, as from `source`."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source
        self.message = message


async def outcome(engine: str, work: Awaitable[Any], unavailable: str, failed: str) -> Any:
    """The result of `engine`'s work, or StageFailed worded for the user."""
    try:
        return await work
    except (EngineUnavailable, ModelError) as exc:
        # A ModelError is already worded for the user (e.g. the remote LLM server is down).
        log.info("%s stage failed: %s", engine, exc)  # the user is told; no duplicate
        raise StageFailed(engine, f"{unavailable}: {exc}") from exc
    except Exception as exc:
        log.exception("%s stage failed", engine)
        raise StageFailed(engine, f"{failed}: {unexpected(exc)}.") from exc


def clip_to_heard(sentences: list[str], heard: dict[int, float]) -> str:
    """The part of the reply that was played: whole sentences, then the heard share of the
    words of the sentence that was cut."""
    said: list[str] = []
    for index, sentence in enumerate(sentences):
        fraction = heard.get(index, 0.0)
        if fraction >= 0.999:
            said.append(sentence)
            continue
        words = sentence.split()
        keep = int(len(words) * fraction)
        if keep:
            said.append(" ".join(words[:keep]) + "…")
        break
    return " ".join(said)
