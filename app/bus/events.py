"""Every message that crosses the bus.

Events are frozen, slotted dataclasses. Each carries the `turn_id` it belongs to (0 when it
belongs to no turn) and `at`, the `time.monotonic()` moment it was created, so timings are taken
where things happen rather than where they are noticed.

Control events are never dropped. Data events (`DataEvent` subclasses) of a cancelled turn are
dropped by the bus, so a late token or audio chunk of an old turn never reaches the screen or
the speaker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

EngineName = Literal["stt", "llm", "tts", "audio"]
EngineState = Literal["loading", "ready", "error", "unavailable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events."""

    turn_id: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataEvent(Event):
    """Payload of a turn; dropped once that turn is cancelled."""


# --- control events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStatus(Event):
    """An engine is loading (with optional 0..1 progress), ready, failed or unavailable."""

    engine: EngineName
    state: EngineState
    detail: str = ""
    progress: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRaised(Event):
    """Something went wrong; `message` is written for the user, not a traceback."""

    source: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice(Event):
    """Information for the user that is not an error (e.g. 'I didn't hear anything')."""

    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioLost(Event):
    """A microphone (`input`) or speaker (`output`) that worked went away: the sound server
    stopped, the device was unplugged. `message` is for the user."""

    kind: Literal["input", "output"]
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(Event):
    """Push-to-talk went down and the microphone is being captured for this turn."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnCancelled(Event):
    """The turn was interrupted (barge-in or stop); its data events are dropped from now on."""

    reason: str = "interrupted"


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnFinished(Event):
    """The turn is over, normally or not. `spoken` is what the user actually heard."""

    transcript: str
    reply: str
    spoken: str
    timings: dict[str, float]
    interrupted: bool = False
    unheard: bool = False  # the speaker went away during it: shown whole, not all spoken


@dataclass(frozen=True, slots=True, kw_only=True)
class SourcesUsed(Event):
    """The passages of the user's files a reply was given: ((file, place), ...)."""

    sources: tuple[tuple[str, str], ...]
    retrieved: bool = False  # chosen by retrieval (the files did not fit whole)


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptProgress(Event):
    """The model is reading a long prompt (files, a long message): `done` of `total` tokens
    (sent at each batch of llama.cpp's prompt evaluation, a few seconds apart on a CPU)."""

    done: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FilesRestored(Event):
    """A reopened chat's documents are back (AttachedFile each), read from the store."""

    files: tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolUsed(Event):
    """The model called a tool for this reply: what it asked, what came back."""

    name: str
    arguments: dict[str, Any]
    result: str
    ok: bool = True
    chip: str = ""  # as the window shows it: "4821 × 37 = 178,377"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasoningDone(Event):
    """The hidden reasoning of a think-first reply (never spoken, never sent back)."""

    text: str
    cut: bool = False  # the budget ran out before the model finished thinking


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatSaved(Event):
    """A message of the conversation was stored (`chat_id` is new when the chat just began)."""

    chat_id: int
    message_id: int
    role: Literal["user", "assistant"]
    title: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsFreeState(Event):
    """Hands-free: what the open microphone is doing now. `state` is "listening" (idle),
    "hearing" (a turn is open), "thinking" (the turn ended: `last_word_at`, the monotonic
    moment of the user's last word), "speaking" or "paused" (the user's sound over the reply
    is being judged); "half_duplex" says in `message` why Parley does not listen while it
    speaks ('' when it listens again); "learnt" (once) that the echo canceller has learnt the
    room: until then Parley does not listen while it speaks. The window's switch
    (app/pipeline/hands_free_switch.py) adds "starting" (loading, opening the microphone),
    "muted" (the microphone closed, the mode kept) and "off" (`message`: why, if it failed)."""

    state: str
    message: str = ""
    last_word_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceInterruption(Event):
    """Hands-free: the user's sound over a reply was judged. `kind`: "barge_in" (words: the
    reply ends as heard and they start a new turn), "resumed" (a cough, "mhm", noise: the
    reply goes on where it paused) or "stop" (the reply ends, nothing is answered). `onset`
    is when the sound began and `quiet_at` when the speaker was paused (monotonic)."""

    kind: str
    text: str = ""
    onset: float = 0.0
    quiet_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown(Event):
    """The app is closing; services release their resources."""


# --- data events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SpeechEnded(DataEvent):
    """Push-to-talk was released: the captured audio, 16 kHz mono float32."""

    audio: np.ndarray
    sample_rate: int = 16000


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptReady(DataEvent):
    """Speech-to-text finished; `text` may be empty (silence)."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserTurn(DataEvent):
    """What the user said or typed, ready for the LLM, with the images attached to it
    (app.vision.images.PreparedImage, decoded and checked)."""

    text: str
    spoken: bool = False
    images: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmDelta(DataEvent):
    """A piece of the reply as the LLM streams it."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmSentence(DataEvent):
    """A complete sentence of the reply, ready to be spoken; `index` counts from 0."""

    index: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmDone(DataEvent):
    """The LLM finished the reply; `sentences` is how many LlmSentence events were sent."""

    text: str
    sentences: int


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TtsChunk(DataEvent):
    """Synthesised audio of sentence `index`, mono float32 at `sample_rate`."""

    index: int
    samples: np.ndarray
    sample_rate: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TtsDone(DataEvent):
    """All sentences of the turn have been synthesised."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(DataEvent):
    """The first sample of the reply reached the speaker."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(DataEvent):
    """The last sample of the reply was played."""
