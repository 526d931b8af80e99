"""From the LLM's pieces to bus events, on the LLM worker thread.

Each piece goes out as an LlmDelta (the window shows it) and each clause ready to be spoken as
an LlmSentence (the TTS worker synthesises it). Splitting here, next to the generation, tells
the LLM worker the moment the first clause is out, so it can hold back while piper renders
that clause: on two cores the two compete, and piper then takes about 0.22 s for a short
sentence instead of 0.09 s (measured here), which is time the user spends in silence. Later
clauses have the whole first clause's playing time to be ready, so only the first is held for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.bus import EventBus
from app.bus.events import LlmDelta, LlmSentence
from app.bus.worker import waiting
from app.pipeline.sentences import SentenceSplitter

# Longest the LLM waits for the first clause's audio (piper takes ~0.1 s for a short one).
MAX_HOLD_SECONDS = 2.0


class ReplyFeed:
    def __init__(
        self,
        bus: EventBus,
        turn_id: int,
        splitter: SentenceSplitter,
        speaking: Callable[[], bool],
    ) -> None:
        self.bus = bus
        self.turn_id = turn_id
        self.splitter = splitter
        self.speaking = speaking
        self.count = 0  # clauses sent so far
        self.first_clause_out = threading.Event()
        self.first_audio_ready = threading.Event()

    def piece(self, text: str) -> None:
        """A piece of the reply, in order (called from one thread at a time)."""
        self.bus.publish_threadsafe(LlmDelta(turn_id=self.turn_id, text=text))
        for clause in self.splitter.push(text):
            self._clause(clause)

    def flush(self) -> None:
        """The reply is complete: whatever text is left is the last clause."""
        for clause in self.splitter.flush():
            self._clause(clause)

    def _clause(self, text: str) -> None:
        index = self.count
        self.count += 1
        # Through the loop's queue like the deltas, so the window and TTS see them in order.
        self.bus.publish_threadsafe(LlmSentence(turn_id=self.turn_id, index=index, text=text))
        if index == 0 and self.speaking():
            self.first_clause_out.set()

    def hold(self) -> None:
        """Between two pieces (LLM worker): wait while the first clause is being synthesised."""
        if self.first_clause_out.is_set() and not self.first_audio_ready.is_set():
            with waiting():  # piper may have both cores meanwhile
                self.first_audio_ready.wait(MAX_HOLD_SECONDS)

    def release(self) -> None:
        """The first clause's audio is ready, or will never be (failure, barge-in)."""
        self.first_audio_ready.set()
