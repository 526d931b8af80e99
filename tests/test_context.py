"""A long conversation never overflows the real model's context: old turns are trimmed."""

from __future__ import annotations

import asyncio

import pytest

from app.bus import EventBus
from app.bus.events import ErrorRaised, TurnFinished
from app.pipeline.turns import TurnManager

pytestmark = pytest.mark.models


def test_long_history_is_trimmed_and_the_model_still_answers(settings, real_models):
    # The default model with a 1024-token window: the same trimming, a quarter of the prompt.
    from app.llm.llama import LlamaChat
    from app.models.defaults import default_llm_target

    llm = LlamaChat(default_llm_target(), context_size=1024, threads=2)
    filler = "The quick brown fox jumps over the lazy dog near the river bank. " * 40

    async def main() -> tuple[TurnFinished, list[ErrorRaised]]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        engines = real_models.engines(bus, settings)
        engines.llm_factory = lambda _s, _p: llm
        engines.start(("llm",))
        turns = TurnManager(bus, engines, settings, sink=None)
        for i in range(30):  # ~15k tokens of earlier conversation
            turns.history.add_user(f"Message {i}: {filler}")
            turns.history.add_assistant(f"Noted {i}. {filler}")
        assert llm.count_tokens(turns.history.messages) > 3 * llm.context_size
        errors: list[ErrorRaised] = []
        bus.subscribe(ErrorRaised, errors.append)
        done: asyncio.Future[TurnFinished] = loop.create_future()
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
        turns.ask("What is the capital of France? Answer in one word.")
        result = await asyncio.wait_for(done, 120)
        engines.shutdown()
        return result, errors

    result, errors = asyncio.run(main())
    assert errors == []
    assert "paris" in result.reply.lower()


def test_instructions_too_long_for_the_context_are_named_not_a_valueerror(settings, real_models):
    """Custom instructions of 96,000 characters (pasted material) fill the real model's
    context: the turn says so and what to do; before, llama.cpp's ValueError ('Requested
    tokens exceed context window') ended every chat."""
    settings.system_prompt = "Always cite the handbook below when you answer.\n" + (
        "Section 4.2: refunds are granted within thirty days of purchase. " * 1500
    )

    async def main() -> tuple[TurnFinished, list[ErrorRaised]]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        engines = real_models.engines(bus, settings)
        engines.start(("llm",))
        turns = TurnManager(bus, engines, settings, sink=None)
        errors: list[ErrorRaised] = []
        bus.subscribe(ErrorRaised, errors.append)
        done: asyncio.Future[TurnFinished] = loop.create_future()
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
        turns.ask("Can I get a refund after two weeks?")
        result = await asyncio.wait_for(done, 120)
        engines.shutdown()
        return result, errors

    result, errors = asyncio.run(main())
    assert result.reply == ""
    [error] = [e.message for e in errors]
    assert "instructions" in error and "Shorten them" in error, error
    assert "ValueError" not in error and "Requested tokens" not in error, error
