"""The conversation the LLM sees: it must always fit the context and keep the question asked."""

from __future__ import annotations

import pytest

from app.llm.base import Message
from app.pipeline.history import History

SYSTEM = "You are a test assistant."


def words(messages: list[Message]) -> int:
    """A stand-in tokenizer: one token per word plus 4 per message for the template."""
    return sum(len(m["content"].split()) + 4 for m in messages)


def chars(messages: list[Message]) -> int:
    """A harsher stand-in: one token per character (every '…' counts)."""
    return sum(len(m["content"]) + 4 for m in messages)


def conversation(exchanges: int, words_each: int = 10) -> History:
    h = History(SYSTEM)
    filler = " ".join(["word"] * words_each)
    for i in range(exchanges):
        h.add_user(f"question{i} {filler}")
        h.add_assistant(f"answer{i} {filler}")
    h.add_user("newest question")
    return h


def test_everything_fits_so_nothing_is_dropped() -> None:
    h = conversation(3)
    prompt = h.prompt(words, context_size=4096, reply_budget=256)
    assert prompt[0] == {"role": "system", "content": SYSTEM}
    assert prompt[1:] == h.messages


def test_trimming_drops_oldest_first_and_keeps_system_and_newest_question() -> None:
    h = conversation(6)
    full = words([{"role": "system", "content": SYSTEM}, *h.messages])
    context, reply = full - 20, 10  # room for far less than the whole conversation
    prompt = h.prompt(words, context_size=context, reply_budget=reply)

    assert words(prompt) <= context - reply
    assert prompt[0] == {"role": "system", "content": SYSTEM}
    assert prompt[-1] == {"role": "user", "content": "newest question"}
    kept = prompt[1:]
    assert len(kept) < len(h.messages)
    # What is kept is the most recent stretch of the conversation, unchanged and in order.
    assert kept == h.messages[-len(kept) :]
    assert any(m["content"].startswith("question5") for m in kept)  # the newest exchange stays
    assert not any(m["content"].startswith("question0") for m in kept)  # the oldest goes


def test_the_prompt_never_starts_with_an_assistant_message() -> None:
    h = conversation(5, words_each=6)
    for context in range(30, 200):  # every cut point of the conversation
        prompt = h.prompt(words, context_size=context, reply_budget=0)
        assert prompt[1]["role"] == "user", context
        assert prompt[-1]["content"] == "newest question", context
        assert words(prompt) <= context, context


def test_trimming_the_prompt_does_not_forget_the_conversation() -> None:
    h = conversation(6)
    before = [dict(m) for m in h.messages]
    h.prompt(words, context_size=40, reply_budget=10)
    assert h.messages == before


def test_a_single_huge_message_is_cut_from_the_front_and_fits() -> None:
    h = History(SYSTEM)
    question = "So what is the capital of France?"
    h.add_user("blah " * 5000 + question)
    context, reply = 1000, 200
    prompt = h.prompt(chars, context_size=context, reply_budget=reply)

    assert chars(prompt) <= context - reply
    assert prompt[0]["role"] == "system"
    assert len(prompt) == 2
    text = prompt[1]["content"]
    assert prompt[1]["role"] == "user"
    assert text.startswith("…")  # the user can tell the start was cut
    assert text.endswith(question)  # the end, where the question is, survives


def test_a_huge_newest_message_after_a_conversation_drops_the_rest_and_fits() -> None:
    h = conversation(4)
    h.add_assistant("an answer")
    h.add_user("x" * 20000 + " the real question?")
    prompt = h.prompt(chars, context_size=2048, reply_budget=256)
    assert chars(prompt) <= 2048 - 256
    assert [m["role"] for m in prompt] == ["system", "user"]
    assert prompt[1]["content"].endswith("the real question?")


@pytest.mark.parametrize("context", [400, 555, 777, 1024])
def test_a_cut_message_always_fits_exactly_counted(context: int) -> None:
    """Even with the '…' marker counted, the prompt never exceeds the budget."""
    over = []
    for size in range(300, 3000, 7):
        h = History("sys")
        h.add_user("y" * size)
        prompt = h.prompt(chars, context_size=context, reply_budget=50)
        if chars(prompt) > context - 50:
            over.append((size, chars(prompt)))
    assert over == [], f"over budget {context - 50}: (message size, prompt tokens) {over[:5]}"


def test_a_short_message_is_not_marked_as_cut() -> None:
    """A message that cannot be made to fit is left as is rather than garbled with '…'."""
    h = History(SYSTEM)
    h.add_user("hi there you")
    # 15 holds the instructions and a one-word question (14), not these three words (16).
    prompt = h.prompt(words, context_size=15, reply_budget=0)
    assert prompt[-1]["content"] == "hi there you"


def test_clear_starts_a_new_conversation() -> None:
    h = conversation(2)
    h.clear()
    h.add_user("fresh")
    assert h.prompt(words, 4096, 256)[1:] == [{"role": "user", "content": "fresh"}]
