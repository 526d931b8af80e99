"""The model calling tools, in Qwen's own format (the default model's chat template teaches
it): the tools as JSON in the system prompt, a call as `<tool_call>{"name", "arguments"}
</tool_call>`, results back as a `<tool_response>` turn. Any model that follows
instructions can use it, local or remote.

A reply that does not start with a tool call streams as before (only its first token or two
wait, to see that it is not "<tool_call>"); one that does is never spoken: the tools run, and
the model answers again with their results, up to MAX_ROUNDS times. In Qwen's vocabulary the
tags are special tokens, which llama.cpp does not put in the text, so a reply that is a bare
`{"name": ...}` object is a call too (and one in a ```json fence, as small models write it).

A bare sum in the user's own words ("What is twelve times twelve?") needs no round for the
call, and its answer round needs no call and tool turn either: the result goes with the
question (`with_result`), so the model reads a dozen more tokens than for any question, not a
hundred (on two cores, a second before the first word; a tool turn started 3.9 times later
than an ordinary one in the window).

A call the model wrote under the grammar (a word problem, a time zone) is answered the same
way: the question again, with the results, instead of the call and a tool turn after it, so
the answer round reads a few dozen tokens, not a hundred or more (`_Rounds._later` in
app/pipeline/generate.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from app.config import Settings
from app.llm.base import Message
from app.stream_filter import close_stream, partial_tag_at_end
from app.tools.cues import CLOCK_OPERATIONS, DATE_OPERATIONS, Cue
from app.tools.registry import Confirm, Registry, ToolCall, ToolOutcome
from app.tools.spoken import LANGUAGE_NAMES, language_of

MAX_ROUNDS = 3
# The tokens a call round may take, whatever the reply's own limit: the call is not the reply,
# and --max-tokens 40 had cut a date call short (then "Sorry, I could not finish that ...").
CALL_TOKENS = 160
# A call that can't be read (cut off, not JSON): the model answers without it instead.
UNREADABLE_CALL = (
    "That tool call could not be read. Answer my question without tools, in one or two "
    "short sentences."
)
GAVE_UP = "Sorry, I could not finish that calculation."
# After the results: a bare "8" answers nothing a listener can use ("8 hours"? "8 euros?").
ANSWER_WITH_RESULTS = (
    "Answer my question with this result in one or two short sentences, stating it with the "
    "unit, currency or clock my question used."
)
# The same, with the result given in the question (see with_result).
ANSWER_WITH_UNIT = "Say the result with the unit, currency or clock my question used."
_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_BARE = '{"name"'
# How a call may begin once whitespace is removed: tagged, bare, or in a Markdown fence.
_STARTS = (_OPEN, _BARE, "```json" + _BARE, "```" + _BARE)
_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)

TOOL_INSTRUCTIONS = """# Tools

For any calculation (even a simple one) and for dates, call a function instead of working it \
out yourself, then answer with its result.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within \
<tool_call></tool_call> XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>"""


def tool_instructions(registry: Registry) -> str:
    return TOOL_INSTRUCTIONS.format(tools=registry.describe())


def _objects(text: str) -> list[str]:
    """The top-level JSON objects in `text` (calls written without their tags)."""
    out, depth, start, quoted, escaped = [], 0, -1, False, False
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted, escaped = True, False
        elif ch == "{":
            depth += 1
            if depth == 1:
                start = i
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
    return out


def _complete(text: str) -> bool:
    """A bare (or fenced) call's JSON object has closed."""
    return bool(_objects(text))


def parse_calls(text: str) -> list[ToolCall]:
    calls = []
    bodies = _CALL.findall(text) if _OPEN in text else _objects(text)
    for body in bodies:
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            continue
        arguments = data.get("arguments", {})
        if isinstance(arguments, str):  # some models send the arguments as a JSON string
            try:
                arguments = json.loads(arguments)
            except ValueError:
                arguments = {}
        calls.append(ToolCall(data["name"], arguments if isinstance(arguments, dict) else {}))
    return calls


@dataclass(frozen=True)
class ToolTurn:
    """The tools a reply may call, and the call the user's own words already spell out
    ("What is twelve times twelve?"), which then runs without a round of the model writing
    it (a second or more before the first word on a CPU)."""

    registry: Registry
    call: ToolCall | None = None
    wanted: Cue = Cue(True, DATE_OPERATIONS + CLOCK_OPERATIONS)  # what the grammar offers

    def call_text(self) -> str:
        """The spelled-out call as the model would have written it (its first round)."""
        assert self.call is not None
        return json.dumps({"name": self.call.name, "arguments": self.call.arguments})


def call_settings(settings: Settings, think_chars: int) -> Settings:
    """The settings a call round runs with (its grammar allows nothing but the call): room
    for the whole call and its scratchpad, whatever --max-tokens says of the reply."""
    scratch = min(600, think_chars) // 2 if settings.think_first else 0
    return replace(settings, llm_max_tokens=max(settings.llm_max_tokens, CALL_TOKENS + scratch))


def result_note(outcome: ToolOutcome) -> str:
    """A result as the question carries it: "Calculator: 12 × 12 = 144", or the calendar's
    "Answer: 12:35 (12:35 pm)" (given as "Calendar: 12:35", or with the call's arguments,
    the default model worked a 10:50 meeting of 1 h 45 out itself and said 11:35; told it is
    the answer, 5 of 5 clock and date questions were right, against 3 of 5)."""
    if outcome.name == "calculator":
        return f"Calculator: {outcome.chip()}"
    return f"Answer: {outcome.result}"


def with_result(content: Any, outcome: ToolOutcome | list[ToolOutcome], unit: bool = False) -> str:
    """The user's question with the result of the calculation it spells out, for the one round
    that answers it ("What is 12 times 12?\n(Calculator: 12 times 12 = 144)"; the default
    model then says "Twelve times twelve equals 144."), answered in the question's language.
    `unit`: a word problem's answer is said with its unit ("60 dollars", not "60")."""
    outcomes = outcome if isinstance(outcome, list) else [outcome]
    notes = "; ".join(result_note(o) for o in outcomes)
    with_it = f"{content}\n({notes})"  # (a tool turn's content is text)
    if unit:
        with_it += f" {ANSWER_WITH_UNIT}"
    language = language_of(str(content))
    name = LANGUAGE_NAMES[language]
    return with_it if language == "en" else f"{with_it} Answer in {name}, the number in digits."


def tool_response(outcomes: list[ToolOutcome], language: str = "en") -> Message:
    """The tools' results for the model, and how to answer: in the question's `language`
    (an English request alone had "Wie viel ist sieben plus fünf?" answered in English)."""
    body = "\n".join(json.dumps(o.to_json(), ensure_ascii=False) for o in outcomes)
    content = f"<tool_response>\n{body}\n</tool_response>\n{ANSWER_WITH_RESULTS}"
    if language != "en":
        content += f" Answer in {LANGUAGE_NAMES[language]}."
    return {"role": "user", "content": content}


def stream_with_tools(
    run_round: Callable[[list[Message]], Iterator[str]],
    messages: list[Message],
    registry: Registry,
    on_tool: Callable[[ToolOutcome], None],
    confirm: Confirm | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """The pieces of the final answer; `run_round(conversation)` streams one model reply."""
    convo = list(messages)
    results: list[ToolOutcome] = []
    asked = messages[-1]["content"] if messages else ""
    # (without the tools' own description, where the question carries it: English)
    language = language_of(asked.split("\n\n# Tools", 1)[0]) if isinstance(asked, str) else "en"
    for round_ in range(MAX_ROUNDS + 1):
        stream = run_round(convo)
        raw, deciding, calling = "", True, False
        try:
            for piece in stream:
                raw += piece
                if calling:
                    if _CLOSE in raw or (_OPEN not in raw and _complete(raw)):
                        break  # the call is complete: no need for the rest of the reply
                    continue
                if deciding:
                    head = "".join(raw.split())  # '{ "name"' and '{"name"' alike
                    if any(len(head) < len(t) and t.startswith(head) for t in _STARTS):
                        continue  # may still become a call
                    deciding = False
                    if head.startswith(_STARTS):
                        calling = True
                        continue
                    yield raw
                    continue
                if _OPEN in piece:  # a call after some words (a remote API's tool call)
                    before, _, after = piece.partition(_OPEN)
                    if before.strip():
                        yield before
                    raw, calling = _OPEN + after, True
                    if _CLOSE in raw:
                        break
                    continue
                yield piece
        finally:
            close_stream(stream)
        if deciding and raw:  # the reply ended while it could still have been a call
            yield raw
        if not calling or stop():
            return
        calls = parse_calls(raw)
        if round_ == MAX_ROUNDS:
            yield _last_results(results)
            return
        if not calls:  # cut off or garbled: a plain answer, never a bare apology
            convo += [
                {"role": "assistant", "content": raw.strip()},
                {"role": "user", "content": UNREADABLE_CALL},
            ]
            continue
        outcomes = [registry.run(call, confirm) for call in calls]
        for outcome in outcomes:
            on_tool(outcome)
        results += [o for o in outcomes if o.ok]
        convo += [
            {"role": "assistant", "content": raw.strip()},
            tool_response(outcomes, language),
        ]


def _last_results(results: list[ToolOutcome]) -> str:
    """What to say when the model still calls tools after MAX_ROUNDS: what they found."""
    if not results:
        return GAVE_UP
    return "The tools found: " + "; ".join(o.chip() for o in results[-2:]) + "."


# Tool-call markup other models and servers write as text: Qwen and Hermes' <tool_call>,
# Qwen3-Coder's <function=NAME>…</function>, Mistral's [TOOL_CALLS][…] (to the line's end).
_CALL_MARKS = ((_OPEN, _CLOSE), ("<function=", "</function>"), ("[TOOL_CALLS]", "\n"))


class UnofferedCalls:
    """A stream filter (app/stream_filter.py) for a reply offered no tools: a call in it
    anyway (a remote server's own tool calling) is taken out, never shown, spoken or run,
    and `on_call(name)` hears of it. A server told of no tools had answered "What is 12
    times 12 plus 7?" with `<tool_call>{"name": "delete_files", ...}` as the reply, saved."""

    def __init__(self, on_call: Callable[[str], None]) -> None:
        self.on_call = on_call
        self._held = ""
        self._close: str | None = None  # inside a call: the mark that ends it

    def feed(self, piece: str) -> str:
        text, self._held, shown = self._held + piece, "", []
        while text:
            if self._close is not None:
                end = text.find(self._close)
                if end < 0:
                    self._held = text  # the call goes on in the next piece
                    return "".join(shown)
                self._report(text[: end + len(self._close)])
                text, self._close = text[end + len(self._close) :], None
                continue
            found = [(text.find(o), o, c) for o, c in _CALL_MARKS if o in text]
            if not found:
                keep = max(partial_tag_at_end(text, o) for o, _ in _CALL_MARKS)
                shown.append(text[: len(text) - keep])
                self._held = text[len(text) - keep :]
                break
            start, _, close = min(found)
            shown.append(text[:start])
            text, self._close = text[start:], close
        return "".join(shown)

    def flush(self) -> str:
        rest, self._held = self._held, ""
        if self._close is not None:
            self._report(rest)
            return ""
        return rest

    def _report(self, call: str) -> None:
        parsed = parse_calls(call)
        named = re.search(r'<function=([\w.-]+)|"name"\s*:\s*"([^"]{1,60})"', call)
        name = parsed[0].name if parsed else (named[1] or named[2]) if named else "a tool"
        self.on_call(name)
