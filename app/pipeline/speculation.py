"""Start the reply before the key goes up.

While the key is held, live transcription hands over the utterance so far at every pause. If
that pause is the end of the question (the usual case: people let go of the key a few hundred
milliseconds after the last word), the reply can start right then. A `Speculation` runs the
LLM on that transcript on the LLM worker and keeps the pieces to itself. At release the turn
manager either adopts it, when the final transcript is the same text (the kept pieces are
published at once and the rest streams as usual), or cancels it: the worker stops at the next
token and the real reply is queued behind it. Its first clause is also synthesised ahead, on
the idle TTS worker, so an adopted reply is heard as soon as the key goes up. Whatever happens,
the prompt it evaluated stays in llama.cpp's KV cache, so even a cancelled speculation
shortens the real prompt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from app.bus.worker import waiting
from app.llm.base import Message
from app.pipeline.generate import ReplyTrace, consume
from app.pipeline.reply_feed import MAX_HOLD_SECONDS
from app.pipeline.sentences import SentenceSplitter

log = logging.getLogger(__name__)

# Pieces generated ahead before waiting to hear whether the reply is wanted: the first clause
# and a little more, so a long hold does not keep both cores busy for a reply nobody asked.
AHEAD_PIECES = 24
UNDECIDED_TIMEOUT = 60.0  # a speculation nobody decides on stops by itself


class Speculation:
    """A reply generated for `text` before anyone knows it is wanted.

    With a `splitter` (the turn's own rules), its first clause goes to `on_first_clause` as
    soon as it is complete, key still held, so that its audio can be ready too (`audio`)."""

    def __init__(
        self,
        text: str,
        messages: list[Message],
        splitter: SentenceSplitter | None = None,
        on_first_clause: Callable[[str], None] | None = None,
    ) -> None:
        self.text = text
        self.messages = messages  # the conversation it answers, ending with `text`
        # What the model was given, its tool outcomes and scratchpads (the turn's if adopted).
        self.trace = ReplyTrace()
        self.splitter = splitter
        self.on_first_clause = on_first_clause
        self.first_clause: str | None = None
        # (clause, chunks, sample rate) once the first clause is synthesised (TTS worker).
        self.audio: tuple[str, list[Any], int] | None = None
        self.audio_done = threading.Event()  # set by the TTS job, whatever its outcome
        self.cancelled = threading.Event()
        self.future: Future[str] | None = None
        self._decided = threading.Event()
        self._lock = threading.Lock()
        self._kept: list[str] = []
        self._emit: Callable[[str], None] | None = None
        self._hold: Callable[[], None] | None = None

    def run(self, stream: Iterator[str]) -> str:
        """On the LLM worker: generate, keeping pieces until adopted or cancelled."""
        return consume(stream, self._piece, self.cancelled, self._hold_if_adopted)

    def _hold_if_adopted(self) -> None:
        if self._hold is not None:
            self._hold()

    def _piece(self, piece: str) -> None:
        with self._lock:
            if self._emit is not None:
                self._emit(piece)
                return
            self._kept.append(piece)
            wait = len(self._kept) >= AHEAD_PIECES
            if len(self._kept) == 1:
                log.debug("speculative reply: first piece %r", piece)
        if self.splitter is not None and self.first_clause is None:
            clauses = self.splitter.push(piece)
            if clauses:
                self.first_clause = clauses[0]
                if self.on_first_clause is not None:
                    self.on_first_clause(clauses[0])
                    # As ReplyFeed.hold: piper renders the clause faster with both cores.
                    with waiting():
                        self.audio_done.wait(MAX_HOLD_SECONDS)
        if wait:
            with waiting():
                if not self._decided.wait(UNDECIDED_TIMEOUT):
                    self.cancel()

    def audio_for(self, clause: str) -> tuple[list[Any], int] | None:
        """The first clause's audio, if it was synthesised ahead and is this clause."""
        audio = self.audio
        if audio is None or self.cancelled.is_set() or audio[0] != clause:
            return None
        return audio[1], audio[2]

    def matches(self, text: str, messages: list[Message]) -> bool:
        return not self.cancelled.is_set() and text == self.text and messages == self.messages

    def adopt(self, emit: Callable[[str], None], hold: Callable[[], None] | None = None) -> None:
        """The reply is wanted: `emit` gets the kept pieces now and every later one, and
        `hold` runs between later pieces."""
        with self._lock:
            for piece in self._kept:
                emit(piece)
            self._kept.clear()
            self._emit = emit
            self._hold = hold
        self._decided.set()

    def cancel(self) -> None:
        self.cancelled.set()
        self._decided.set()
        self.audio_done.set()
