"""The conversation as the LLM sees it, trimmed to fit the context window.

Oldest exchanges go first; the system prompt and the newest user message always stay. Token
counts come from the model's own tokenizer, so trimming happens before llama.cpp would
overflow, never as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.llm.base import Message
from app.models.errors import ModelError


class InstructionsTooLong(ModelError):
    """The system prompt alone fills the context: no question could ever be answered."""


@dataclass
class History:
    system_prompt: str
    messages: list[Message] = field(default_factory=list)

    def add_user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def add_assistant(self, text: str) -> None:
        self.messages.append({"role": "assistant", "content": text})

    def clear(self) -> None:
        self.messages.clear()

    def prompt(
        self,
        count_tokens: Callable[[list[Message]], int],
        context_size: int,
        reply_budget: int,
    ) -> list[Message]:
        """System prompt + as much recent history as fits with `reply_budget` tokens to spare."""
        system: list[Message] = [{"role": "system", "content": self.system_prompt}]
        budget = context_size - reply_budget
        needs = count_tokens(system + [{"role": "user", "content": "?"}])
        if needs > budget:  # llama.cpp would refuse it as "Requested tokens exceed context"
            raise InstructionsTooLong(
                f"The instructions ({len(self.system_prompt):,} characters, about {needs:,} "
                f"tokens) leave no room for a question and its answer in this model's "
                f"{context_size:,}-token context. Shorten them (the custom instructions in "
                "Settings, or the assistant's), or raise llm_context in settings.json."
            )
        convo = list(self.messages)
        while len(convo) > 1 and count_tokens(system + convo) > budget:
            # Drop the oldest message, then any assistant message left leading the window, so
            # the prompt always starts with a user turn.
            convo.pop(0)
            while len(convo) > 1 and convo[0]["role"] != "user":
                convo.pop(0)
        if convo and count_tokens(system + convo) > budget:
            # A single message too long for the window: keep its end, where the question is.
            last = convo[-1]
            text = last["content"]

            def fits(kept: str) -> bool:  # counted with the "…" that marks the cut
                return count_tokens(system + [{**last, "content": "…" + kept}]) <= budget

            while len(text) > 64 and not fits(text):
                text = text[len(text) // 4 :]
            if text != last["content"]:
                convo[-1] = {"role": last["role"], "content": "…" + text}
        return system + convo
