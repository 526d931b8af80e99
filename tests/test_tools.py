"""Tools: the calculator's exact, safe arithmetic, the calendar, the confirmation rule for
tools that change things, and the tool-call protocol, which never lets a call reach the
voice however the model's stream is cut."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from app.pipeline.tool_use import parse_calls, stream_with_tools, tool_instructions
from app.tools.calculator import CalculationError, calculate, show
from app.tools.calendar import calendar
from app.tools.registry import Registry, Tool, ToolCall


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("4821 * 37", "178,377"),
        ("4821 times 37", "178,377"),
        ("17.5% of 2340", "409.5"),
        ("17.5 percent of 2340", "409.5"),
        ("percent(17.5, 2340)", "409.5"),
        ("0.1 + 0.2", "0.3"),
        ("1/3", "0.333333333333"),
        ("2**100", "1,267,650,600,228,229,401,496,703,205,376"),
        ("sqrt(144)", "12"),
        ("square root of 2", "1.41421356237"),
        ("root(27, 3)", "3"),
        ("3 to the power of 4", "81"),
        ("12,345 × 2", "24,690"),
        ("(1200 - 15%) ", "1,199.85"),
        ("convert(100, 'km', 'miles')", "62.1371192237"),
        ("convert(100, 'C', 'F')", "212"),
        ("round(2/3, 2)", "0.67"),
    ],
)
def test_the_calculator_is_exact(expression: str, result: str) -> None:
    assert show(calculate(expression)) == result


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1/0", "division by zero"),
        ("10**10**10", "too large"),
        ("__import__('os').system('true')", "calculate"),
        ("(1).__class__", "calculate"),
        ("[x for x in range(10**9)]", "calculate"),
        ("lambda: 1", "calculate"),
        ("open('/etc/passwd')", "calculate"),
        ("sqrt(-4)", "not a real number"),
        ("convert(1, 'kg', 'km')", "cannot convert"),
        ("", "empty"),
    ],
)
def test_the_calculator_refuses_what_is_not_arithmetic(expression: str, reason: str) -> None:
    with pytest.raises(CalculationError, match=reason):
        calculate(expression)


def test_the_calendar() -> None:
    today = dt.date(2026, 12, 2)
    assert calendar({"operation": "today"}, today) == "2026-12-02 (Wednesday)"
    assert calendar({"operation": "add", "date": "2026-12-02", "days": 30}) == "2027-01-01 (Friday)"
    assert calendar({"operation": "between", "date": "2026-01-15", "other": "2026-09-30"}) == (
        "258 days"
    )
    assert calendar({"operation": "weekday", "date": "2027-03-14"}) == "Sunday"
    with pytest.raises(CalculationError, match="not a date"):
        calendar({"operation": "weekday", "date": "next tuesday"})


def test_a_tool_that_changes_something_needs_the_users_yes(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    asked: list[dict] = []

    def delete(args: dict) -> str:
        Path(args["path"]).unlink()
        return "deleted"

    registry = Registry.default()
    registry.add(
        Tool("delete_file", "Delete a file.", {"required": ["path"]}, delete, side_effect=True)
    )
    assert not registry.pure
    call = ToolCall("delete_file", {"path": str(target)})
    refused = registry.run(call)  # nobody to ask: never done
    assert not refused.ok and "did not allow" in refused.result and target.exists()

    def no(tool: Tool, args: dict) -> bool:
        asked.append(args)
        return False

    assert not registry.run(call, no).ok and target.exists()
    assert asked == [{"path": str(target)}]  # the user saw exactly what would be done
    assert registry.run(call, lambda tool, args: True).result == "deleted"
    assert not target.exists()
    # Pure tools need nobody's yes.
    assert registry.run(ToolCall("calculator", {"expression": "2+2"})).result == "4"
    assert "no such tool" in registry.run(ToolCall("shell", {"cmd": "ls"})).result


def test_calls_are_parsed_with_or_without_their_tags() -> None:
    tagged = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2*3"}}\n</tool_call>'
    bare = '{"name": "calendar", "arguments": "{\\"operation\\": \\"today\\"}"}'
    assert parse_calls(tagged) == [ToolCall("calculator", {"expression": "2*3"})]
    assert parse_calls(bare) == [ToolCall("calendar", {"operation": "today"})]
    assert parse_calls("The answer is {not json}.") == []
    assert "calculator" in tool_instructions(Registry.default())
    quoted = '{"name": "calculator", "arguments": {"expression": "say \\"}\\" twice"}}'
    assert parse_calls(quoted) == [ToolCall("calculator", {"expression": 'say "}" twice'})]


def _chunked(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 12))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("form", ["tagged", "bare", "fenced"])
def test_no_part_of_a_call_ever_reaches_the_voice(form: str) -> None:
    """Fuzz: the call split at random places, 300 times; only the final answer comes out."""
    call = json.dumps({"name": "calculator", "arguments": {"expression": "4821 * 37"}}, indent=2)
    first = {
        "tagged": f"<tool_call>\n{call}\n</tool_call>",
        "bare": f" {call}",
        "fenced": f"```json\n{call}\n```",
    }[form]
    answer = "4821 times 37 is 178,377."
    rng = random.Random(11)
    for _ in range(300):
        rounds = iter([_chunked(first, rng), _chunked(answer, rng)])
        seen: list[list[dict]] = []

        def one_round(convo: list[dict], rounds=rounds, seen=seen) -> object:
            seen.append(convo)
            return iter(next(rounds))

        outcomes: list = []
        out = "".join(
            stream_with_tools(
                one_round, [{"role": "user", "content": "q"}], Registry.default(), outcomes.append
            )
        )
        assert out == answer
        assert [o.result for o in outcomes] == ["178,377"]
        assert seen[1][-1]["content"].startswith("<tool_response>")


def test_a_reply_that_is_not_a_call_streams_unchanged() -> None:
    rng = random.Random(2)
    for text in [
        "Paris.",
        '{"city": "Paris"} is the JSON you asked for.',
        "<b>bold</b>",
        "{",
        "```python\nprint('hi')\n```",
        '```json\n{"city": "Paris"}\n```',
    ]:
        for _ in range(50):
            chunks = _chunked(text, rng) if len(text) > 1 else [text]
            pieces = list(
                stream_with_tools(lambda c, ch=chunks: iter(ch), [], Registry.default(), print)
            )
            assert "".join(pieces) == text


def test_a_turn_that_calls_a_tool_speaks_only_the_answer(settings) -> None:
    from app.bus.events import LlmDelta, ToolUsed, UserTurn
    from tests.fakes import FakeTTS
    from tests.test_turns import Harness, ScriptedLLM, run

    call = '{"name": "calculator", "arguments": {"expression": "4821 * 37"}}'
    llm = ScriptedLLM([call, "It is 178,377."])
    tts = FakeTTS(0.01)

    async def body(h: Harness) -> None:
        h.turns.ask("What is 4821 times 37?")
        done = await h.finished(h.of(UserTurn)[0].turn_id)
        assert done.reply.strip() == "It is 178,377."
        [used] = h.of(ToolUsed)
        assert (used.name, used.result, used.chip) == (
            "calculator",
            "178,377",
            "4821 × 37 = 178,377",
        )
        assert "calculator" not in "".join(d.text for d in h.of(LlmDelta))

    run(body, settings, llm=llm, tts=tts, speed=20.0)
    assert tts.spoken == ["It is 178,377."]
    # A fake engine takes no grammar: the tools are described with the question, and the
    # system prompt (kept in the KV cache turn after turn) is left alone.
    assert "calculator" in llm.prompts[0][-1]["content"]
    assert "calculator" not in llm.prompts[0][0]["content"]
    assert llm.prompts[1][-1]["content"].startswith("<tool_response>")


@pytest.mark.models
def test_the_default_model_calculates_with_the_tool() -> None:
    from tests.realtools import parley

    run = parley("ask", "--no-save", "--json", "--text", "What is 4821 times 37?", timeout=180)
    result = json.loads(run.stdout)
    assert "178,377" in result["reply"] or "178377" in result["reply"], result
    assert result["tools"][0]["name"] == "calculator"
    # A word problem: left to itself the model answers from memory; the call is constrained.
    word = "A shop sells notebooks at 6.16 euros each. How much do 62 notebooks cost in euros?"
    run = parley("ask", "--no-save", "--json", "--text", word, timeout=180)
    result = json.loads(run.stdout)
    assert "381.92" in result["reply"], result
    plain = parley("ask", "--no-save", "--json", "--no-tools", "--max-tokens", "8", "--text", "Hi!")
    assert json.loads(plain.stdout)["tools"] == []


@pytest.mark.parametrize(
    ("question", "calculation"),
    [
        ("What is 4821 times 37?", True),
        ("What is 17.5 percent of 2340?", True),
        ("A shop sells pens at 1.20 euros each. How much do 48 pens cost?", True),
        ("What is the square root of 1764?", True),
        ("What day of the week is 2027-03-14?", True),
        ("How many days between 2026-01-15 and 2026-09-30?", True),
        ("How many legs does a spider have?", False),
        ("What is the capital of France?", False),
        ("Who wrote Romeo and Juliet?", False),
        ("Tell me about the 1969 moon landing.", False),
    ],
)
def test_which_questions_get_a_tool_call(question: str, calculation: bool) -> None:
    from app.tools.cues import needs_tool

    assert needs_tool(question) is calculation


def test_the_call_grammar_is_valid_gbnf() -> None:
    from llama_cpp import LlamaGrammar

    from app.tools.cues import CALL_GRAMMAR

    assert LlamaGrammar.from_string(CALL_GRAMMAR, verbose=False) is not None
