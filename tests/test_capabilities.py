"""Asked for what it cannot do (a reminder, a timer, today's weather), Parley says so: the
default model had answered "I'll set a reminder for you…" and invented a forecast. The model
gets a note with the question; the history keeps the user's own words."""

from __future__ import annotations

import pytest

from app.pipeline.capabilities import cannot_do_note
from tests.test_turns import Harness, ScriptedLLM, run


@pytest.mark.parametrize(
    "question",
    [
        "Remind me to water the plants at 7.",
        "Set an alarm for half past six tomorrow.",
        "Can you start a timer for the pasta, 9 minutes?",
        "What's the weather like in Lisbon this weekend?",
        "Will it rain tomorrow?",
        "Erinnere mich morgen an den Zahnarzt.",
    ],
)
def test_a_request_parley_cannot_carry_out_gets_the_note(question: str) -> None:
    assert "I can't" in cannot_do_note(question)


@pytest.mark.parametrize(
    "question",
    [
        "Tell me about the history of weather forecasting.",
        "How do alarms in old clocks work?",
        "What is a reminder in music theory?",
        "What's 12 times 12?",
    ],
)
def test_a_question_about_such_things_gets_no_note(question: str) -> None:
    assert cannot_do_note(question) == ""


def test_the_model_reads_the_note_and_the_history_keeps_the_words(settings) -> None:
    from app.bus.events import UserTurn

    llm = ScriptedLLM(["I can't set reminders. Try your phone's clock app."])
    out: dict = {}

    async def body(h: Harness) -> None:
        h.turns.ask("Remind me to call Sam at 5 pm.")
        done = await h.finished(h.of(UserTurn)[0].turn_id)
        out["reply"] = done.reply.strip()

    run(body, settings, llm=llm)
    sent = llm.prompts[0][-1]["content"]
    assert sent.startswith("Remind me to call Sam at 5 pm.") and "I can't" in sent
    assert out["reply"].startswith("I can't")
