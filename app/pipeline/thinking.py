"""Think first: the model reasons in a hidden scratchpad (<think> … </think>) before it
answers. Only the answer is spoken and shown; the reasoning is kept apart (stored with the
reply, shown folded under it, never sent back in later turns).

`ReasoningGate` splits a streamed reply into reasoning and answer however the tags are cut
across pieces ("<thi" + "nk>"), and holds back anything that might still be the start of a
tag. A scratchpad never closed ends at the reasoning budget: the gate then stops the stream,
and the answer is asked for in a second, short round (`answer_round`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from app.llm.base import Message
from app.stream_filter import close_stream, partial_tag_at_end

OPEN, CLOSE = "<think>", "</think>"
REASONING_BUDGET_CHARS = 1200  # about 300 tokens: 15-40 s at 8-20 tokens/s before a word

THINK_INSTRUCTIONS = (
    "Think before you answer. First write your reasoning step by step between <think> and "
    "</think> (the user does not see it; keep it short). After </think>, write only the "
    "answer for the user, as usual."
)


def system_with_thinking(system: str, settings: Any) -> str:
    """`system`, with how to think first when Settings turn it on."""
    return f"{system}\n\n{THINK_INSTRUCTIONS}" if settings.think_first else system


class ReasoningGate:
    """before → (inside → after) | after; a later <think>…</think> in the answer is hidden
    too, and a stray </think> is dropped: no tag or reasoning ever reaches the voice."""

    def __init__(self, budget_chars: int = REASONING_BUDGET_CHARS) -> None:
        self.reasoning = ""
        self.budget = budget_chars
        self.over_budget = False
        self.state = "before"
        self.answered = False
        self._pending = ""  # held back: might be the start of a tag

    @property
    def thinking(self) -> bool:
        return self.state == "inside"

    def feed(self, piece: str) -> str:
        """The part of `piece` that is answer (may be '' while undecided)."""
        text, self._pending = self._pending + piece, ""
        out: list[str] = []
        while text:
            if self.state == "before":
                head = text.lstrip()
                if head.startswith(OPEN):
                    text, self.state = head[len(OPEN) :], "inside"
                elif OPEN.startswith(head):
                    self._pending = text  # "<th": wait for more
                    text = ""
                else:
                    text, self.state = head, "after"
            elif self.state == "inside":
                end = text.find(CLOSE)
                if end < 0:
                    keep = partial_tag_at_end(text, CLOSE)
                    self.reasoning += text[: len(text) - keep]
                    self._pending, text = text[len(text) - keep :], ""
                    self.over_budget = len(self.reasoning) > self.budget
                else:
                    self.reasoning += text[:end]
                    text, self.state = text[end + len(CLOSE) :], "after"
                    if not (self.answered or "".join(out).strip()):
                        text = text.lstrip()
            else:
                cut = [i for i in (text.find(OPEN), text.find(CLOSE)) if i >= 0]
                if cut:
                    at = min(cut)
                    out.append(text[:at])
                    if text.startswith(OPEN, at):
                        text, self.state = text[at + len(OPEN) :], "inside"
                    else:
                        text = text[at + len(CLOSE) :]  # a stray closing tag
                    continue
                keep = max(partial_tag_at_end(text, OPEN), partial_tag_at_end(text, CLOSE))
                out.append(text[: len(text) - keep])
                self._pending, text = text[len(text) - keep :], ""
        answer = "".join(out)
        if not self.answered:
            answer = answer.lstrip()
        self.answered = self.answered or bool(answer)
        return answer

    def flush(self) -> str:
        """At the end of the stream: what was held back, if it is answer."""
        rest, self._pending = self._pending, ""
        if self.state == "inside":
            self.reasoning += rest
            return ""
        if self.state == "before":
            return "" if OPEN.startswith(rest.strip()) else rest.strip()
        return rest


def split_reasoning(
    stream: Iterator[str],
    gate: ReasoningGate,
    answer_round: Callable[[str], Iterator[str]],
) -> Iterator[str]:
    """The answer's pieces of `stream`; reasoning goes to `gate.reasoning`. Over budget, the
    stream is stopped and `answer_round(reasoning)` gives the answer instead."""
    try:
        for piece in stream:
            answer = gate.feed(piece)
            if answer:
                yield answer
            if gate.over_budget:
                break
    finally:
        close_stream(stream)
    rest = gate.flush()
    if rest:
        yield rest
    if gate.over_budget or (gate.thinking and not gate.answered):
        for piece in answer_round(gate.reasoning):
            yield piece


def answer_messages(messages: list[Message], reasoning: str) -> list[Message]:
    """The conversation for the answer after a cut scratchpad: the notes so far, then the
    request for the answer alone."""
    return [
        *messages,
        {"role": "assistant", "content": f"{OPEN}{reasoning.strip()}{CLOSE}"},
        {
            "role": "user",
            "content": "Stop thinking now. Reply with only the final answer for the user, "
            "in one to three short sentences.",
        },
    ]
