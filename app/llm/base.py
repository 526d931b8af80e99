"""What the pipeline needs from a chat LLM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, TypedDict


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    # Text, or for a vision model's newest user message OpenAI-style content parts:
    # [{"type": "text", "text": ...}, {"type": "image_url", "image_url": {"url": "data:..."}}]
    content: str | list[dict[str, Any]]


class ChatModel(Protocol):
    name: str
    context_size: int

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens these messages take in the prompt, template overhead included (an upper bound)."""
        ...

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Reply text pieces as generated. Lazy: iterate it on the LLM worker only."""
        ...
