"""Tools: the calculator's exact, safe arithmetic, the calendar, the confirmation rule for
tools that change things, and the tool-call protocol, which never lets a call reach the
voice however the model's stream is cut."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.pipeline.tool_use import parse_calls, stream_with_tools, tool_instructions
from app.tools.calculator import CalculationError, calculate, show
from app.tools.calendar import calendar
from app.tools.registry import Registry, Tool, ToolCall
from tests.test_turns import ScriptedLLM


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
        ("(1200 - 15%) ", "1,020"),  # a share of the amount off, as on a pocket calculator
        ("45 + 20%", "54"),
        ("20% off 45", "36"),
        ("10 minus 5 percent of 20", "9"),
        ("convert(100, 'km', 'miles')", "62.1371192237"),
        ("convert(100, 'C', 'F')", "212"),
        ("round(2/3, 2)", "0.67"),
        # As speech to text writes them.
        ("twelve times twelve", "144"),
        ("three point five times two", "7"),
        ("a hundred and twenty divided by eight", "15"),
        ("nineteen squared", "361"),
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


# A Saturday in Berlin, the day before Europe's clocks go forward (America's already have).
NOW = dt.datetime(2026, 3, 28, 15, 25, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("args", "result"),
    [
        ({"operation": "add_time", "time": "10:50", "hours": 1, "minutes": 45}, "12:35"),
        ({"operation": "add_time", "time": "9:40 pm", "hours": 3, "minutes": 30},
         "1:10 am, the next day"),
        ({"operation": "add_time", "time": "23:15", "minutes": 90}, "00:45, the next day"),
        ({"operation": "add_time", "time": "a quarter past ten", "hours": 2}, "12:15"),
        ({"operation": "add_time", "time": "half past eleven", "hours": 2, "minutes": 5},
         "13:35 (1:35 pm)"),
        ({"operation": "add_time", "time": "ten to seven in the evening", "minutes": 25},
         "7:15 pm"),
        ({"operation": "add_time", "time": "07:05", "hours": 30}, "13:05, the next day"),
        ({"operation": "time_between", "time": "8:45", "other": "17:10"}, "8 hours 25 minutes"),
        ({"operation": "time_between", "time": "10:30 pm", "other": "6:15 am"},
         "7 hours 45 minutes"),
        ({"operation": "time_between", "time": "noon", "other": "twelve forty"}, "40 minutes"),
        ({"operation": "time_until", "time": "17:30"}, "2 hours 5 minutes (it is 15:25 now)"),
        ({"operation": "time_until", "time": "9 am"}, "17 hours 35 minutes (it is 3:25 pm now)"),
        ({"operation": "convert_time", "time": "9:00", "from_zone": "London", "to_zone": "Tokyo"},
         "18:00 (6:00 pm) in Tokyo (Asia/Tokyo)"),
        ({"operation": "convert_time", "time": "6:30 pm", "from_zone": "New York",
          "to_zone": "Paris"},
         "11:30 pm in Paris (Europe/Paris)"),
        ({"operation": "convert_time", "time": "20:00", "zone": "PST", "to_zone": "Sydney"},
         "14:00 in Sydney (Australia/Sydney), the next day"),
        ({"operation": "convert_time", "to_zone": "india"},
         "19:55 (7:55 pm) in india (Asia/Kolkata)"),
        ({"operation": "now", "zone": "Tokyo"},
         "23:25 (11:25 pm) in Tokyo (Asia/Tokyo), Saturday 2026-03-28"),
        ({"operation": "now"}, "15:25 (3:25 pm), Saturday 2026-03-28"),
        ({"operation": "between", "date": "2026-04-24"}, "27 days"),  # days until a date
    ],
)  # fmt: skip
def test_clock_times(args: dict, result: str) -> None:
    """Times of day as written and as said, 12- and 24-hour, past midnight, durations, "how
    long until" from now, zones by city, abbreviation or country; each answer in the clock
    the question used."""
    assert calendar(args, now=NOW) == result


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"operation": "add_time", "time": "25:70", "minutes": 5}, "not a time"),
        ({"operation": "add_time", "time": "13 pm", "minutes": 5}, "not a time"),
        ({"operation": "add_time", "time": "lunchtime", "minutes": 5}, "like 10:50"),
        ({"operation": "add_time", "hours": 2}, "time is missing"),
        ({"operation": "time_between", "time": "9:00"}, "other is missing"),
        ({"operation": "convert_time", "time": "9:00", "to_zone": "Atlantis"},
         "time zone of 'Atlantis'"),
        ({"operation": "teleport"}, "operation must be"),
    ],
)  # fmt: skip
def test_clock_times_it_cannot_read_say_why(args: dict, reason: str) -> None:
    with pytest.raises(CalculationError, match=reason):
        calendar(args, now=NOW)


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
        h.turns.ask("A box holds 37 pens. How many pens are in 4821 boxes?")
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


def test_a_sum_said_in_words_is_calculated_without_a_round_for_the_call(settings) -> None:
    """ "What's twelve times twelve?": the user's words are the call, so the tool runs at once
    and the model's only round is the answer (the round that wrote the call cost a second or
    more before the first word), given the result with the question."""
    from app.bus.events import ToolUsed, UserTurn
    from tests.test_turns import Harness, ScriptedLLM, run

    llm = ScriptedLLM(["Twelve times twelve is 144.", "Nineteen squared is 361."])

    async def body(h: Harness) -> None:
        for question in ("What's twelve times twelve?", "nineteen squared"):
            h.turns.ask(question)
            await h.finished(h.of(UserTurn)[-1].turn_id)
        assert [(u.name, u.result) for u in h.of(ToolUsed)] == [
            ("calculator", "144"),
            ("calculator", "361"),
        ]

    run(body, settings, llm=llm, speed=20.0)
    assert len(llm.prompts) == 2  # one round per question: the answer
    assert llm.prompts[0][-1]["content"] == (
        "What's twelve times twelve?\n(Calculator: 12 times 12 = 144)"
    )
    assert llm.prompts[1][-1]["content"].endswith("(Calculator: 19 squared = 361)")


def test_a_bare_sum_starts_speaking_about_as_soon_as_a_plain_question(settings) -> None:
    """Issue 24: a spoken "What is twelve times twelve?" was heard 3.9 times later than the
    other questions. The model reads every prompt token not in its cache before its first
    word, and a bare sum's answer round read the call and a tool turn with the result and an
    instruction (about 100 tokens, against 7 for "How many legs does a spider have?"). Now it
    reads the question and the result: the first sound within 1.5 times a plain question's."""
    from app.bus.events import ToolUsed, UserTurn
    from tests.fakes import FakeTTS, ReadingLLM
    from tests.test_turns import Harness, run

    replies = ["A spider has eight legs.", "Twelve times twelve equals 144."] * 3
    llm = ReadingLLM(replies, first_word=0.1, per_word=0.01)
    first_audio: dict[str, list[float]] = {"plain": [], "sum": []}

    async def body(h: Harness) -> None:
        for _ in range(3):
            for kind, question in (
                ("plain", "How many legs does a spider have?"),
                ("sum", "What is twelve times twelve?"),
            ):
                h.turns.reset()  # a new chat: only the instructions are in the model's cache
                h.turns.ask(question)
                done = await h.finished(h.of(UserTurn)[-1].turn_id)
                first_audio[kind].append(done.timings["first_audio"])
        assert [u.result for u in h.of(ToolUsed)] == ["144"] * 3

    run(body, settings, llm=llm, tts=FakeTTS(0.01), speed=20.0)
    plain, tool = sorted(first_audio["plain"])[1], sorted(first_audio["sum"])[1]
    assert tool <= 1.5 * plain, (first_audio, llm.read)


def test_text_read_from_an_image_never_decides_a_tool(settings, tmp_path: Path) -> None:
    """A date and a sum on a picture: "What colour is this image?" is still a plain question
    (the OCR text had made it a calendar call with an invented date)."""
    from app.bus.events import ToolUsed, UserTurn
    from app.pipeline.attachments import load_attachment
    from tests.image_factory import sign
    from tests.test_turns import Harness, run

    image = load_attachment(sign(tmp_path, "2026-12-24", 0.2, "12 x 7 at 10:30", width=480))
    llm = ScriptedLLM(["It is dark blue with white letters.", "It says 2026-12-24."])

    async def body(h: Harness) -> None:
        for question in ("What colour is this image?", "What text is in this image?"):
            h.turns.attach(image)
            h.turns.ask(question)
            await h.finished(h.of(UserTurn)[-1].turn_id)
        assert not h.of(ToolUsed)

    run(body, settings, llm=llm, speed=20.0)
    for prompt in llm.prompts:
        assert "2026-12-24" in prompt[-1]["content"]  # the reading reached the model
        assert "calculator" not in prompt[-1]["content"]  # and no tool was offered


class GrammarLLM(ScriptedLLM):
    """A scripted engine that takes a grammar, as llama.cpp does, and each of whose replies
    is checked against it (what the grammar allows is the point, not the model's choice)."""

    supports_grammar = True

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.grammars: list[str | None] = []

    def stream_chat(self, messages, max_tokens, temperature, grammar=None):  # noqa: ANN001, ANN201
        self.grammars.append(grammar)
        reply = self.replies[len(self.grammars) - 1]
        if grammar is not None:
            assert reply.startswith("<think>") == ("<think>" in grammar), (reply, grammar)
        return super().stream_chat(messages, max_tokens, temperature)


def test_think_first_reasons_then_calls_the_tool_then_explains(settings) -> None:
    """With --think a word problem routed to the calculator gets its scratchpad before the
    call (the grammar allows it), and the answer round is asked for the question's unit."""
    from app.bus.events import LlmDelta, ReasoningDone, ToolUsed, UserTurn
    from tests.fakes import FakeTTS
    from tests.test_turns import Harness, run

    settings.think_first = True
    call = '{"name": "calculator", "arguments": {"expression": "6 * 250 / 100"}}'
    llm = GrammarLLM(
        [
            f"<think>6 litres per 100 km, and 250 km is 2.5 times 100 km.</think>\n{call}",
            "<think>The tool says 15.</think>It needs 15 litres.",
        ]
    )
    tts = FakeTTS(0.01)

    async def body(h: Harness) -> None:
        h.turns.ask("My car uses six litres per 100 km. How much fuel for a 250 km trip?")
        done = await h.finished(h.of(UserTurn)[0].turn_id)
        assert done.reply.strip() == "It needs 15 litres."
        [used] = h.of(ToolUsed)
        assert used.result == "15"
        [notes] = h.of(ReasoningDone)
        assert "2.5 times 100 km" in notes.text and "The tool says 15." in notes.text
        assert "think" not in "".join(d.text for d in h.of(LlmDelta))

    run(body, settings, llm=llm, tts=tts, speed=20.0)
    assert tts.spoken == ["It needs 15 litres."]
    # The call round reads spoken numbers as digits; the answer round, the user's words.
    assert llm.prompts[0][-1]["content"].startswith("My car uses 6 litres per 100 km.")
    assert "six litres" in llm.prompts[1][-3]["content"]
    assert llm.grammars[0] is not None and "<think>" in llm.grammars[0]
    assert llm.grammars[1] is None  # the answer is free text


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
        # Spoken, as speech to text writes it.
        ("What is twelve times twelve?", True),
        ("what's seven hundred divided by twenty-five", True),
        ("How many minutes are in six hours?", True),
        # Clock times, durations, zones, "how long until".
        ("The meeting starts at 10:50 and lasts 1 hour 45 minutes. When does it end?", True),
        ("My bus leaves at a quarter past ten and the ride takes forty minutes. When do I arrive?",
         True),
        ("How long until 17:30?", True),
        ("I start work at 9 am and finish at 5:30 pm. How long is my day?", True),
        ("What time is it in Tokyo?", True),
        ("If it is 8 pm in Sydney, what time is it in London?", True),
        ("What's today's date?", True),
        # A number alone is no calculation.
        ("What's a good present for a 5-year-old?", False),
        ("Is 100% cotton better in summer?", False),
        ("I have one question: how much sugar is in a can of cola?", False),
        ("How do I set up a 24/7 support rota?", False),
        ("Explain the 80/20 rule.", False),
        ("What colour is this image?", False),
        ("What text is in this image?", False),
        ("Why does a day have 24 hours?", False),
        ("What time of year is best to visit Iceland?", False),
        ("What time should I go to bed?", False),
    ],
)  # fmt: skip
def test_which_questions_get_a_tool_call(question: str, calculation: bool) -> None:
    from app.tools.cues import needs_tool

    assert needs_tool(question) is calculation


@pytest.mark.parametrize(
    ("question", "operations"),
    [
        ("The lecture begins at 9:10 and runs 2 hours. When is it over?", ("add_time",)),
        ("Dinner is at a quarter to eight; the roast needs ninety minutes. When does it go in?",
         ("add_time",)),
        ("How long is it from 6:40 am to 3:05 pm?", ("time_between",)),
        ("How much time until 23:00?", ("time_until",)),
        ("When it is 7 pm in Chicago, what time is it in Berlin?", ("convert_time",)),
        ("What time is it in Singapore right now?", ("now", "convert_time")),
        ("Which weekday was 2024-02-29?", ("weekday",)),
        ("What's the date 100 days after 2026-06-01?", ("add",)),
        ("How many days since 2025-12-25?", ("between",)),
    ],
)  # fmt: skip
def test_the_words_choose_the_calendar_operation(question: str, operations: tuple) -> None:
    """The call's grammar offers only these: among all of them the default model had
    answered "When does the meeting end?" with a date 100,000 days after an invented one
    (and a time given must be converted: left optional, the model converted the time now)."""
    from app.tools.cues import call_grammar, cue

    assert cue(question).operations == operations and not cue(question).calculator
    if operations == ("convert_time",):  # a time was given: it is required
        assert 'convert_time\\"" time fromzone' in call_grammar(0, cue(question))


@pytest.mark.parametrize(
    ("question", "expression"),
    [
        ("What's twelve times twelve?", "12 times 12"),
        ("Calculate 17.5% of 2340.", "17.5% of 2340"),
        ("What is the square root of 1764?", "square root of 1764"),
        ("how much is three to the power of five", "3 to the power of 5"),
        ("4821 * 37", "4821 * 37"),
        ("A box holds 37 pens. How many pens are in 4821 boxes?", None),  # the model reads it
        ("What is 2 and 2?", None),
    ],
)
def test_a_sum_spelled_out_is_the_call(question: str, expression: str | None) -> None:
    from app.tools.cues import direct_call

    call = direct_call(question)
    assert (call.arguments["expression"] if call else None) == expression


@pytest.mark.models
def test_the_call_grammars_parse_in_llama_cpp() -> None:
    """As llama.cpp parses them against the default model's vocabulary (LlamaGrammar alone
    does not parse: a grammar it took made the app crash at the first tool call)."""
    import llama_cpp

    from app.models.defaults import default_llm
    from app.tools.cues import call_grammar, cue

    model = llama_cpp.Llama(str(default_llm()), vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(model._model.model)
    wanted = [cue("What is 3 times 4?"), cue("What time is it in Oslo?"), cue("weekday?")]
    wanted.append(cue("At 9:00 in Lima, what time is it in Oslo?"))
    wanted.append(cue("Dinner is at 7:45 and the roast needs 95 minutes; when?"))  # fixed delta
    grammars = [call_grammar(), call_grammar(599), *(call_grammar(159, w) for w in wanted)]
    for grammar in grammars:
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        assert sampler, grammar
        llama_cpp.llama_sampler_free(sampler)


def test_a_call_the_model_wrote_is_answered_from_the_question_and_its_result(settings) -> None:
    """A word problem's call, written by the model under the grammar: the answer round reads
    the question again with the result and the unit to say (a few dozen tokens), not the call
    and a tool turn after it (a hundred or more before the first word). A failed call still
    gets its tool turn, which says why."""
    from app.bus.events import ToolUsed, UserTurn
    from tests.test_turns import Harness, run

    good = '{"name": "calculator", "arguments": {"expression": "5 * 12"}}'
    bad = '{"name": "calculator", "arguments": {"expression": "5 * / 12"}}'
    llm = GrammarLLM([good, "Five tickets cost 60 dollars.", bad, "Sorry, I could not."])
    question = "A ticket costs twelve dollars. How much do five tickets cost?"

    async def body(h: Harness) -> None:
        for _ in range(2):
            h.turns.ask(question)
            await h.finished(h.of(UserTurn)[-1].turn_id)
        assert [u.ok for u in h.of(ToolUsed)] == [True, False]

    run(body, settings, llm=llm, speed=20.0)
    answer = llm.prompts[1]
    assert answer[-1]["role"] == "user" and not any(
        m["content"].startswith("<tool_response>") or "calculator" in m["content"]
        for m in answer
        if m["role"] != "system"
    ), answer
    # The question as the call round read it (digits), then the result and the unit to say.
    assert answer[-1]["content"] == (
        "A ticket costs 12 dollars. How much do 5 tickets cost?\n(Calculator: 5 × 12 = 60) "
        "Say the result with the unit, currency or clock my question used."
    )
    assert llm.grammars[1] is None  # the answer is free text
    # The failed call: the tool turn tells the model what went wrong.
    assert llm.prompts[3][-1]["content"].startswith("<tool_response>")


@pytest.mark.parametrize("think", [False, True])
def test_a_reply_stopped_while_the_model_writes_a_call_or_thinks_stops_at_once(
    settings, think: bool
) -> None:
    """A call round's tokens and a scratchpad's are never handed on, so a reply stopped
    meanwhile (a key press, a reply started at a pause and superseded) used to keep the model
    busy to the round's end: on two cores, 2 s before the next reply could start."""
    import threading

    from app.pipeline.generate import Prompt, ReplyRequest, reply_stream
    from app.pipeline.tool_use import ToolTurn
    from app.tools.cues import cue

    settings.think_first = think
    call = " ".join(["<think>" + "step " * 40 + "</think>"] * think + ['{"name": "calculator",'])
    call += ' "arguments": {"expression": "5 * 12 + 0 * 1 + 0 * 1 + 0 * 1 + 0 * 1"}}'
    llm = GrammarLLM([call, "Sixty dollars."])
    llm.token_delay = 0.05
    question = "A ticket costs 12 dollars. How much do 5 tickets cost?"
    stop = threading.Event()
    request = ReplyRequest(
        Prompt([{"role": "user", "content": question}], "Be brief."),
        tools=ToolTurn(Registry.default(), None, cue(question)),
        stopped=stop.is_set,
    )
    pieces = reply_stream(llm, settings, request)
    threading.Timer(0.12, stop.set).start()
    assert "".join(pieces) == ""
    assert llm.tokens_yielded < len(call.split()) // 2, llm.tokens_yielded
    assert len(llm.prompts) == 1  # no answer round after a stop


@pytest.mark.parametrize(
    ("expression", "chip"),
    [("3**4 * 2", "3^4 × 2 = 162"), ("10 ** 3", "10 ^ 3 = 1,000")],
)
def test_a_power_is_shown_with_a_caret_not_two_times_signs(expression, chip) -> None:
    from app.tools.registry import ToolOutcome

    result = show(calculate(expression))
    assert ToolOutcome("calculator", {"expression": expression}, result).chip() == chip
