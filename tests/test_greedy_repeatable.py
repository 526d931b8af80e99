"""A greedy reply is the same however much of its prompt llama.cpp had cached: the real
default model, asked the same thing three ways (after whatever came before, with the whole
prompt cached, and after another conversation)."""

from __future__ import annotations

import pytest

SYSTEM = "You are Parley, a helpful voice assistant. Answer briefly."


@pytest.mark.models
def test_the_same_question_gets_the_same_greedy_reply_whatever_was_cached(real_models):
    llm = real_models.llm

    def ask(question: str, tokens: int = 120) -> str:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
        return "".join(llm.stream_chat(messages, tokens, 0.0))

    # Decoded from wherever the cache stood, this reply changed after about 100 tokens.
    question = "Write a short story about a lighthouse keeper and a storm, with numbers in it."
    first = ask(question)
    cached = ask(question)
    ask("Say hi in French, then count to twenty in words.", 40)
    after_another = ask(question)
    assert len(first) > 300
    assert cached == first and after_another == first
