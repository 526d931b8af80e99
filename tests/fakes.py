"""Scripted engines with controllable delays, for deterministic ordering and barge-in tests.

Real-model tests use the real engines; these exist only where a test needs exact timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from app.llm.base import Message


class FakeSTT:
    name = "fake-stt"

    def __init__(self, text: str = "hello there", delay: float = 0.0) -> None:
        self.text = text
        self.delay = delay
        self.calls: list[np.ndarray] = []

    def transcribe(self, audio: np.ndarray) -> str:
        self.calls.append(audio)
        time.sleep(self.delay)
        return self.text


class FakeLLM:
    name = "fake-llm"
    context_size = 4096

    def __init__(self, reply: str = "One. Two.", token_delay: float = 0.0) -> None:
        self.reply = reply
        self.token_delay = token_delay
        self.prompts: list[list[Message]] = []
        self.tokens_yielded = 0
        self.threads: set[str] = set()
        self.stop_after: threading.Event | None = None

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        self.threads.add(threading.current_thread().name)
        for word in self.reply.split(" "):
            time.sleep(self.token_delay)
            self.tokens_yielded += 1
            yield word + " "


class FakeTTS:
    name = "fake-tts"
    sample_rate = 16000

    def __init__(self, seconds_per_word: float = 0.1, delay: float = 0.0) -> None:
        self.seconds_per_word = seconds_per_word
        self.delay = delay
        self.spoken: list[str] = []

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        self.spoken.append(text)
        time.sleep(self.delay)
        n = int(self.sample_rate * self.seconds_per_word * max(1, len(text.split())))
        t = np.arange(n) / self.sample_rate
        yield (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


class ReadingLLM(FakeLLM):
    """A FakeLLM that, like llama.cpp, reads the part of each prompt that is not in its cache
    (what follows the prefix it shares with the previous prompt) before the first word: a
    fixed `first_word` plus `per_word` for each word to read (the default model on two cores:
    about 0.2 s, then 9 ms a token). Gives `replies` in order."""

    def __init__(self, replies: list[str], first_word: float, per_word: float) -> None:
        super().__init__(replies[0])
        self.replies = list(replies)
        self.first_word = first_word
        self.per_word = per_word
        self.read: list[int] = []  # words read for each prompt
        self._cached: list[str] = []

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        words = [w for m in messages for w in [f"<{m['role']}>", *str(m["content"]).split()]]
        shared = 0
        while shared < min(len(words), len(self._cached)) and words[shared] == self._cached[shared]:
            shared += 1
        self._cached = words
        self.read.append(len(words) - shared)
        self.reply = self.replies[min(len(self.read) - 1, len(self.replies) - 1)]
        reading = self.first_word + self.per_word * self.read[-1]
        return self._after(reading, super().stream_chat(messages, max_tokens, temperature))

    @staticmethod
    def _after(seconds: float, stream: Iterator[str]) -> Iterator[str]:
        time.sleep(seconds)  # at the first piece, as llama.cpp reads the prompt then
        yield from stream
