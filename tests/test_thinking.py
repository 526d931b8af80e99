"""Think first: the scratchpad is never spoken or shown, whatever the stream's cuts, is kept
apart from the answer, is never sent back to the model, and a budget bounds it."""

from __future__ import annotations

import random

import pytest

from app.pipeline.thinking import ReasoningGate, split_reasoning

CASES = [
    ("<think>2 and 2 make 4.</think>\nThe answer is 4.", "The answer is 4.", "2 and 2 make 4."),
    ("  <think>a < b, so</think>It is <b>4</b>.", "It is <b>4</b>.", "a < b, so"),
    ("The answer is 4.", "The answer is 4.", ""),
    ("<think>never closed, still thinking", "", "never closed, still thinking"),
    ("Answer first. <think>hidden</think>More.", "Answer first. More.", "hidden"),
    ("Oops </think>stray tag.", "Oops stray tag.", ""),
    ("<thinking is not the tag>", "<thinking is not the tag>", ""),
]


def _pieces(text: str, rng: random.Random) -> list[str]:
    if len(text) < 2:
        return [text]
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 20))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize(("stream", "answer", "reasoning"), CASES)
def test_no_reasoning_ever_reaches_the_voice(stream: str, answer: str, reasoning: str) -> None:
    """Fuzz over chunk boundaries: 500 random cuttings of each stream."""
    rng = random.Random(7)
    for _ in range(500):
        gate = ReasoningGate(budget_chars=10_000)
        spoken = "".join(gate.feed(p) for p in _pieces(stream, rng)) + gate.flush()
        assert spoken == answer
        assert gate.reasoning.strip() == reasoning
        assert "think>" not in spoken and (not reasoning or reasoning not in spoken)


def test_a_scratchpad_over_budget_is_cut_and_the_answer_asked_for() -> None:
    endless = ["<think>"] + ["I keep thinking about it. "] * 200
    asked: list[str] = []

    def answer_round(notes: str):
        asked.append(notes)
        return iter(["The answer ", "is 4."])

    gate = ReasoningGate(budget_chars=300)
    consumed = []

    def stream():
        for piece in endless:
            consumed.append(piece)
            yield piece

    out = "".join(split_reasoning(stream(), gate, answer_round))
    assert out == "The answer is 4."
    assert gate.over_budget and len(asked) == 1 and asked[0].startswith("I keep thinking")
    assert len(consumed) < 20  # generation stopped at the budget, not after 200 pieces


def test_think_first_in_a_turn(settings, tmp_path) -> None:
    from app.bus.events import LlmDelta, ReasoningDone, UserTurn
    from app.storage.chats import ChatStore
    from app.storage.dataset import export_dataset
    from tests.fakes import FakeTTS
    from tests.test_turns import Harness, ScriptedLLM, run

    settings.think_first = True
    settings.tools = False
    llm = ScriptedLLM(
        ["<think>Nine times six is fifty-four.</think> It is 54.", "<think>Again.</think> Yes."]
    )
    tts = FakeTTS(0.01)

    async def body(h: Harness) -> None:
        h.turns.ask("What is nine times six?")
        done = await h.finished(h.of(UserTurn)[0].turn_id)
        assert done.reply.strip() == "It is 54."
        [notes] = h.of(ReasoningDone)
        assert notes.text == "Nine times six is fifty-four." and not notes.cut
        assert "fifty-four" not in "".join(d.text for d in h.of(LlmDelta))
        h.turns.ask("Sure?")
        await h.finished(h.of(UserTurn)[1].turn_id)

    store = ChatStore(tmp_path)
    run(body, settings, llm=llm, tts=tts, speed=20.0, store=store)
    assert tts.spoken == ["It is 54.", "Yes."]
    # Stored apart from the answer, and never in the training data.
    first = store.messages(store.latest_chat())[1]
    assert first.text == "It is 54." and first.meta["reasoning"] == "Nine times six is fifty-four."
    store.rate(first.id, 1)
    out = tmp_path / "sft.jsonl"
    export_dataset(store, out, "sft")
    assert "fifty-four" not in out.read_text() and "It is 54." in out.read_text()
    assert "Think before you answer" in llm.prompts[0][0]["content"]
    # The reasoning is never sent back: the second turn's history has the answer only.
    assert {"role": "assistant", "content": "It is 54."} in llm.prompts[1]
    assert not any("fifty-four" in m["content"] for m in llm.prompts[1])
