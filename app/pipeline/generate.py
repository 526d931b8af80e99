"""Generate: the model's rounds for one reply, as one stream of the answer's pieces.

`reply_stream` is the one way a reply is made, for a turn and for a reply started at a pause
(app/pipeline/speculation.py) alike. It runs on the LLM worker. The rounds are built here
(the first reads the prompt, with the tools' grammar or description; a tool call's results
get another round), and what the user must not get is taken out as transforms of the
stream: the thinking gate (think-first scratchpads, app/pipeline/thinking.py), the tool
calls (app/pipeline/tool_use.py), the secrecy filter (app/safety/withhold.py) and the
citation check (app/knowledge/citations.py). What a reply was made from and what it did
(the exact prompt, tool outcomes, scratchpads) goes to its `ReplyTrace`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.bus.events import Event, Notice, ReasoningDone, ToolUsed
from app.config import Settings
from app.knowledge.citations import checked_citations
from app.llm.base import ChatModel, Message
from app.pipeline.history import History, InstructionsTooLong
from app.pipeline.result_check import checked_result
from app.pipeline.thinking import ReasoningGate, answer_messages, split_reasoning
from app.pipeline.tool_use import (
    ToolTurn,
    UnofferedCalls,
    call_settings,
    stream_with_tools,
    tool_instructions,
    with_result,
)
from app.safety.withhold import withheld, withheld_notice, withhold_text
from app.stream_filter import close_stream, filtered
from app.tools.cues import call_grammar
from app.tools.registry import Confirm, ToolOutcome
from app.tools.spoken import with_digits

log = logging.getLogger(__name__)


@dataclass
class Prompt:
    """What the model reads: the system prompt and `messages` (ending with the user's turn),
    trimmed to leave room for the reply plus `extra_budget` tokens (for images).
    `last_user` replaces the newest message's content (images, file passages). `record`
    learns what the model was given: "kept" (how many of `messages`, from the end) and "cut"
    (the newest message's text, when it had to be shortened), so feedback can name the exact
    prompt."""

    messages: list[Message]
    system: str
    extra_budget: int = 0
    last_user: Any = None
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decoding:
    """How one round is decoded: a `grammar` it must follow, `progress` of reading a long
    prompt (where the engine can say), `tools` (function schemas) for an engine with its own
    tool calling (a remote API), and `greedy` for a reply read off attachments."""

    grammar: str | None = None
    progress: Callable[[int, int], None] | None = None
    tools: list[dict[str, Any]] | None = None
    greedy: bool = False


@dataclass
class ReplyTrace:
    """What a reply was made from and what it did, filled on the LLM worker."""

    record: dict[str, Any] = field(default_factory=dict)  # the exact prompt (see Prompt)
    tools: list[ToolOutcome] = field(default_factory=list)  # calls made for the reply
    reasoning: list[ReasoningGate] = field(default_factory=list)  # think-first scratchpads

    def notes(self) -> str:
        """The reply's hidden reasoning, every round's scratchpad ('' without think-first)."""
        return "\n\n".join(g.reasoning.strip() for g in self.reasoning if g.reasoning.strip())


@dataclass
class ReplyRequest:
    """One reply: what the model reads (`prompt`; its record is the trace's), which tools it
    may call, and what is taken out of it (`secrets`: words the instructions keep private;
    `sources`: the file passages it was given, which alone it may cite)."""

    prompt: Prompt
    trace: ReplyTrace = field(default_factory=ReplyTrace)
    tools: ToolTurn | None = None
    confirm: Confirm | None = None  # asks the user before a tool that changes things
    secrets: Sequence[str] = ()
    sources: list[tuple[str, str]] | None = None
    greedy: bool = False  # read off attachments: every round decoded greedily
    stopped: Callable[[], bool] = lambda: False
    progress: Callable[[int, int], None] | None = None  # a turn the user is waiting on
    notice: Callable[[str], None] | None = None  # tells the user (a question cut to fit)


def reply_stream(llm: ChatModel, settings: Settings, request: ReplyRequest) -> Iterator[str]:
    """On the LLM worker: the reply's pieces, tool rounds included when tools are on."""
    trace = request.trace
    request = replace(request, prompt=replace(request.prompt, record=trace.record))
    if not settings.think_first:
        request = _with_direct_result(request)
    rounds = _Rounds(llm, settings, request)
    if request.tools is None:
        stream = filtered(rounds(rounds.messages), UnofferedCalls(_unoffered(request)))
    else:
        stream = stream_with_tools(
            rounds,
            rounds.messages,
            request.tools.registry,
            trace.tools.append,
            request.confirm,
            request.stopped,
        )
    if request.secrets:
        stream = withheld(
            stream, request.secrets, lambda found: trace.record.__setitem__("withheld", found)
        )
    if request.sources is not None:  # no citation of a file that was not given
        stream = checked_citations(
            stream,
            request.sources,
            lambda changed: trace.record.__setitem__("citations_corrected", changed),
        )
    return stream


def _unoffered(request: ReplyRequest) -> Callable[[str], None]:
    """What to do with a tool call in a reply offered no tools: nothing runs; the user is
    told (a server's own tool calling, or a model that writes calls unasked)."""

    def told(name: str) -> None:
        request.trace.record.setdefault("unoffered_calls", []).append(name)
        log.warning("the model called %r, which was not offered: not run", name)
        if request.notice is not None:
            request.notice(
                f"The model asked to run a tool (“{name}”) that Parley did not offer it. "
                "Nothing was run."
            )

    return told


def _with_direct_result(request: ReplyRequest) -> ReplyRequest:
    """A bare sum: the tool runs now and its result goes with the question, so the one round
    reads little more than a plain question (see with_result). Thinking first, the model
    reasons over a tool turn instead (it recomputed a bare result in its scratchpad, wrongly:
    "nineteen plus twenty-three equals 15")."""
    tools, prompt = request.tools, request.prompt
    if tools is None or tools.call is None:
        return request
    outcome = tools.registry.run(tools.call, request.confirm)
    request.trace.tools.append(outcome)
    log.debug("tool %s ran before the reply: %s", outcome.name, outcome.chip())
    # As the newest message (with any file passages): the exact prompt kept for feedback
    # says what the model was given. No pictures: a tool turn has none.
    last = prompt.last_user if isinstance(prompt.last_user, str) else prompt.messages[-1]["content"]
    return replace(
        request, tools=None, prompt=replace(prompt, last_user=with_result(last, outcome))
    )


class _Rounds:
    """The model's rounds for one reply, called with the conversation so far: the first
    reads the prompt, later ones the tools' results; each goes through the thinking gate
    when the model thinks first."""

    def __init__(self, llm: ChatModel, settings: Settings, request: ReplyRequest) -> None:
        self.llm = llm
        self.settings = settings
        self.request = request
        self.count = 0
        tools = request.tools
        prompt = request.prompt
        # A calculation gets a tool call, not a guess: constrained by a grammar where the
        # engine takes one (the 1.5B model, left to choose, answered percentages and word
        # problems from memory); elsewhere the tools are described in the question.
        # Thinking first, the grammar lets a short scratchpad come before the call.
        self.think_chars = max(40, settings.think_budget_tokens) * 4
        think = min(600, self.think_chars - 1) if settings.think_first else 0
        grammar = getattr(llm, "supports_grammar", False)
        self.forced = call_grammar(think, tools.wanted) if tools is not None and grammar else None
        # A remote API with tool calling gets the tools as such; any other engine has them
        # described in the question.
        native = tools is not None and self.forced is None and llm_has(llm, "supports_tools")
        self.native = tools.registry.schemas() if tools is not None and native else None
        messages = prompt.messages
        if tools is not None and self.forced is None and not native and tools.call is None:
            described = f"{messages[-1]['content']}\n\n{tool_instructions(tools.registry)}"
            messages = [*messages[:-1], {"role": "user", "content": described}]
        self.messages = messages
        self.prompt = replace(prompt, messages=messages)

    def __call__(self, convo: list[Message]) -> Iterator[str]:
        self.count += 1
        stream = _until(self._first() if self.count == 1 else self._later(convo), self.request)
        if self.request.trace.tools:  # an answer after a calculation says its number
            return checked_result(
                self._thought(stream, convo), self.request.trace.tools, self._asked()
            )
        return self._thought(stream, convo)

    def _asked(self) -> str:
        last = self.prompt.last_user
        return last if isinstance(last, str) else str(self.messages[-1].get("content", ""))

    def _thought(self, stream: Iterator[str], convo: list[Message]) -> Iterator[str]:
        """`stream` through the thinking gate: with think-first on, with its budget; without
        it, for a model that thinks on its own (a reasoning model on a server writes
        <think>…</think> before its answer: printed, saved and spoken before)."""
        if not self.settings.think_first:
            gate = ReasoningGate(budget_chars=10**9)  # its own thinking: never cut short
            self.request.trace.reasoning.append(gate)
            return split_reasoning(stream, gate, lambda _notes: iter(()))
        gate = ReasoningGate(self.think_chars)
        self.request.trace.reasoning.append(gate)
        base = self.messages if self.count == 1 else convo

        def answer(notes: str) -> Iterator[str]:
            if self.request.stopped():  # the scratchpad ended because the reply was stopped
                return iter(())
            prompt = Prompt(answer_messages(base, notes), self.prompt.system)
            return stream_reply(self.llm, self.settings, prompt, self._decoding())

        return split_reasoning(stream, gate, answer)

    def _decoding(self, **kw: Any) -> Decoding:
        return Decoding(greedy=self.request.greedy, **kw)

    def _first(self) -> Iterator[str]:
        request, prompt, tools = self.request, self.prompt, self.request.tools
        if tools is not None and tools.call is not None:
            # The user's words are the call: no model round writes it (thinking first, the
            # model then reasons over the result as it explains it).
            fitted_prompt(self.llm, self.settings, prompt)
            stream: Iterator[str] = iter([tools.call_text()])
        elif self.forced is not None:
            settings = call_settings(self.settings, self.think_chars)
            prompt = replace(prompt, messages=_numbers_as_digits(prompt.messages))
            decoding = self._decoding(grammar=self.forced, progress=request.progress)
            stream = stream_reply(self.llm, settings, prompt, decoding)
        else:
            decoding = self._decoding(progress=request.progress, tools=self.native)
            stream = stream_reply(self.llm, self.settings, prompt, decoding)
        if request.notice is not None and "cut" in request.trace.record:
            request.notice(cut_notice(self.llm))
        return stream

    def _later(self, convo: list[Message]) -> Iterator[str]:
        """The tools' results are in: now the answer, not another call."""
        compact = self._compact(convo)
        if compact is not None:
            return compact
        last = self.prompt.last_user
        if isinstance(last, str):  # later rounds keep the files' passages
            convo = [*convo]
            convo[len(self.messages) - 1] = {"role": "user", "content": last}
        prompt = Prompt(convo, self.prompt.system, self.prompt.extra_budget)
        decoding = self._decoding(progress=self.request.progress)
        return stream_reply(self.llm, self.settings, prompt, decoding)

    def _compact(self, convo: list[Message]) -> Iterator[str] | None:
        """The answer to a call the model wrote under the grammar: the question (as the call
        round read it, so llama.cpp's cache keeps it) with the results, in place of the call
        and a tool turn (a hundred tokens more to read before the first word: on two cores
        about half a second). Not when thinking first (the scratchpad reasons over the tool
        turn), nor after a call that failed (the model is told why, in the tool turn)."""
        outcomes = self.request.trace.tools
        one_call = self.count == 2 and len(convo) == len(self.messages) + 2
        if self.forced is None or self.settings.think_first or not one_call:
            return None
        if not outcomes or not all(o.ok for o in outcomes):
            return None
        last, content = self.prompt.last_user, self.messages[-1]["content"]
        if (last is not None and not isinstance(last, str)) or not isinstance(content, str):
            return None  # pictures go with the question: the tool turn keeps them
        asked = last if isinstance(last, str) else with_digits(content)
        question = {"role": "user", "content": with_result(asked, list(outcomes), unit=True)}
        prompt = Prompt([*self.messages[:-1], question], self.prompt.system)
        return stream_reply(self.llm, self.settings, prompt, self._decoding())


def _until(stream: Iterator[str], request: ReplyRequest) -> Iterator[str]:
    """`stream`, ended at the first token after the reply is stopped. A call round's and a
    scratchpad's tokens are never handed on, so the consumer's own check between pieces came
    only at the round's end: a reply started at a pause and superseded kept the LLM for its
    whole call round (2 s before the real reply could start)."""
    try:
        for piece in stream:
            if request.stopped():
                return
            yield piece
    finally:
        close_stream(stream)


def reply_events(turn_id: int, trace: ReplyTrace, secrets: Sequence[str]) -> list[Event]:
    """What the window is told once the reply is in: its reasoning (secrets withheld there
    too), what was withheld, and the tools it called."""
    events: list[Event] = []
    found: list[str] = list(trace.record.get("withheld", ()))
    notes = trace.notes()
    if notes:
        cut = any(g.over_budget for g in trace.reasoning)
        notes, in_notes = withhold_text(notes, secrets)
        found += in_notes
        events.append(ReasoningDone(turn_id=turn_id, text=notes, cut=cut))
    if found:
        events.append(Notice(turn_id=turn_id, message=withheld_notice(found)))
    for outcome in trace.tools:
        events.append(
            ToolUsed(
                turn_id=turn_id,
                name=outcome.name,
                arguments=outcome.arguments,
                result=outcome.result,
                ok=outcome.ok,
                chip=outcome.chip(),
            )
        )
    return events


def cut_notice(llm: ChatModel) -> str:
    return (
        f"Your message is longer than {llm.name} can read at once ({llm.context_size:,} tokens "
        "with its reply), so its end was left out. Attach long text as a file, or shorten it."
    )


def llm_has(llm: ChatModel, feature: str) -> bool:
    """Whether the engine offers `feature` (supports_grammar, supports_tools, ...)."""
    return bool(getattr(llm, feature, False))


def stream_reply(
    llm: ChatModel, settings: Settings, prompt: Prompt, decoding: Decoding = Decoding()
) -> Iterator[str]:
    """One round of the model: the pieces of its reply to `prompt`, fitted to the context."""
    messages = fitted_prompt(llm, settings, prompt)
    record = prompt.record
    if prompt.last_user is not None:
        messages[-1] = {"role": "user", "content": prompt.last_user}
        if record is not None and isinstance(prompt.last_user, str):
            record["last"] = prompt.last_user  # file passages: part of the exact prompt
    # An answer read off an attachment is a fact, not a turn of phrase: decoded greedily, the
    # same question about the same receipt gets the same answer every time (sampled at the
    # default temperature it was right 3 times in 4).
    temperature = 0.0 if decoding.greedy else settings.llm_temperature
    extra: dict[str, Any] = {}
    if decoding.grammar and llm_has(llm, "supports_grammar"):
        extra["grammar"] = decoding.grammar
    if decoding.progress is not None and llm_has(llm, "supports_progress"):
        extra["progress"] = decoding.progress
    if decoding.tools and llm_has(llm, "supports_tools"):
        extra["tools"] = decoding.tools
    return llm.stream_chat(messages, settings.llm_max_tokens, temperature, **extra)  # type: ignore[call-arg]


def fitted_prompt(llm: ChatModel, settings: Settings, prompt: Prompt) -> list[Any]:
    """The system prompt and as much of the prompt's messages as fits with the reply; its
    `record` learns what was kept (see Prompt)."""
    messages, extra_budget, system = prompt.messages, prompt.extra_budget, prompt.system
    history = History(system, messages)
    budget = settings.llm_max_tokens + extra_budget
    try:
        fitted: list[Any] = history.prompt(llm.count_tokens, llm.context_size, budget)
    except InstructionsTooLong:
        if extra_budget <= 0:
            raise
        # What overflows is the estimate for pictures or tool rounds, not the instructions:
        # fit to the reply alone, as before (the model counts a picture's tokens itself).
        fitted = history.prompt(llm.count_tokens, llm.context_size, settings.llm_max_tokens)
    record = prompt.record
    if record is not None:
        record["system"] = system
        record["kept"] = len(fitted) - 1
        if fitted[-1]["content"] != messages[-1]["content"]:
            record["cut"] = fitted[-1]["content"]
    return fitted


def consume(
    stream: Iterator[str],
    emit: Callable[[str], None],
    stop: threading.Event,
    hold: Callable[[], None] | None = None,
) -> str:
    """Hand each piece to `emit` until the stream ends or `stop` is set; returns the text.
    `hold` runs before the next piece is generated (see ReplyFeed.hold)."""
    parts: list[str] = []
    try:
        for piece in stream:
            if stop.is_set():
                break
            parts.append(piece)
            emit(piece)
            if hold is not None:
                hold()
    finally:
        close_stream(stream)
    return "".join(parts)


def _numbers_as_digits(messages: list[Message]) -> list[Message]:
    """The question as the call round reads it: spoken numbers as digits (the default model,
    given "half past seven ... runs two hours ten minutes", wrote the time as 2:10)."""
    last = messages[-1]
    if not isinstance(last["content"], str):
        return messages
    return [*messages[:-1], {"role": last["role"], "content": with_digits(last["content"])}]
