"""A long prompt on the real default model: the reading is reported as it goes (the window
and the CLI show it), and a question cut to fit the context is announced."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from app.bus import EventBus
from app.bus.events import LlmDelta, Notice, PromptProgress, TurnFinished
from app.pipeline.turns import TurnManager

# About 580 tokens: more than a 512-token context holds (reading costs about 25 ms a token on
# 2 cores, so no longer than that).
NOTES = " ".join(
    f"Item {i}: the shipment of {i * 7} crates left the warehouse in Porto on day {i}."
    for i in range(1, 26)
)
# For the CLI: just over llama.py's PROGRESS_MIN_TOKENS (200), below which nothing is shown.
SHORT_NOTES = NOTES[: len(NOTES) // 2]


def ask_once(settings, real_models, question: str, seen: list, kinds: tuple, llm=None):
    """One typed turn on the real engines (or `llm`); events of `kinds` go into `seen`."""

    async def main() -> TurnFinished:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        engines = real_models.engines(bus, settings)
        if llm is not None:
            engines.llm_factory = lambda _s, _p: llm
        engines.start(("llm",))
        turns = TurnManager(bus, engines, settings, sink=None)
        done: asyncio.Future[TurnFinished] = loop.create_future()
        for kind in kinds:
            bus.subscribe(kind, seen.append)
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
        turns.ask(question)
        result = await asyncio.wait_for(done, 180)
        engines.shutdown()
        return result

    return asyncio.run(main())


@pytest.mark.models
def test_reading_a_long_prompt_is_reported_as_it_goes_and_a_question_cut_to_fit_is_announced(
    settings, real_models
) -> None:
    """A message longer than the context (here the default model loaded with a small one) is
    cut, and the user is told; its reading is reported batch by batch before the first word
    of the reply, and the reply still comes. (One reading checks both: each took a model 10
    to 15 s to read.)"""
    from app.llm.llama import LlamaChat

    small = LlamaChat(real_models.llm.model_path, context_size=512, threads=2)
    # Batches of 64 tokens: the ~260 tokens of the question that fit beside the system prompt
    # are read in 5, so "as it goes" shows without a prompt of over 512 tokens (3 of the
    # app's 256-token batches) read on a model with the app's context.
    small.llm.n_batch = 64
    settings.llm_max_tokens = 8
    events: list[object] = []
    question = f"{NOTES[:3000]}\n\nWhich city is named?"
    result = ask_once(
        settings, real_models, question, events, (PromptProgress, LlmDelta, Notice), llm=small
    )
    small.close()
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("its end was left out" in n for n in notices), notices
    assert result.reply.strip()
    reading = [e for e in events if not isinstance(e, Notice)]
    progress = [e for e in reading if isinstance(e, PromptProgress)]
    assert len(progress) >= 3, progress
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].done == progress[-1].total >= 3 * 64 + 1
    # All of it before the first word of the answer.
    first_word = next(i for i, e in enumerate(reading) if isinstance(e, LlmDelta))
    assert all(isinstance(e, PromptProgress) for e in reading[:first_word])


@pytest.mark.models
def test_the_cli_shows_the_reading(tmp_path) -> None:
    question = tmp_path / "notes.txt"
    question.write_text(SHORT_NOTES)
    run = subprocess.run(
        [sys.executable, "-m", "app", "ask", "--text", "Which city?", "--file", str(question),
         "--max-tokens", "8", "--no-save"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Reading the prompt: 100%" in run.stderr
