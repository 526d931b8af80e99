"""Tools with a remote model, through its API's own tool calling: the tools go in the request
as function schemas, the server's `tool_calls` come back as calls Parley runs, and the answer
is made from their results. A scripted OpenAI-style server on loopback (exact streaming of
tool calls, as OpenAI, vLLM and Ollama send them) and the real llama-cpp-python server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.bus import EventBus
from app.bus.events import ToolUsed, TurnFinished
from app.config import Settings
from app.pipeline.engines import Engines
from app.pipeline.turns import TurnManager
from tests.remote_servers import ScriptedServer


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


def remote(url: str) -> Settings:
    s = Settings()
    s.llm_url = url
    s.llm_max_tokens = 64
    s.llm_temperature = 0.0
    return s


async def ask(settings: Settings, question: str) -> tuple[TurnFinished, list[ToolUsed]]:
    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    engines = Engines(bus, settings)
    engines.start(("llm",))
    turns = TurnManager(bus, engines, settings, sink=None)
    tools: list[ToolUsed] = []
    done: asyncio.Future[TurnFinished] = loop.create_future()
    bus.subscribe(ToolUsed, tools.append)
    bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
    turns.ask(question)
    result = await asyncio.wait_for(done, 240)
    await bus.drain()
    engines.shutdown()
    return result, tools


def test_a_remote_tool_call_is_run_and_answered_from(scripted) -> None:
    scripted.script.tool_calls = [("calculator", '{"expression": "4821 * 37"}')]
    scripted.script.after_tools = ["There are ", "178,377 bolts."]
    # A word problem: a bare sum ("What is 4821 times 37?") is run without asking the model.
    question = "A warehouse has 37 crates with 4821 bolts in each. How many bolts in total?"
    result, tools = asyncio.run(ask(remote(scripted.url), question))
    assert [(t.name, t.result) for t in tools] == [("calculator", "178,377")]
    assert result.reply == "There are 178,377 bolts."
    first, second = scripted.chats()[-2:]  # after the warm-up
    # The tools went as the API's function schemas, not as text in the question.
    names = [t["function"]["name"] for t in first.body["tools"]]
    assert "calculator" in names and first.body["tool_choice"] == "auto"
    assert "<tools>" not in first.body["messages"][-1]["content"]
    # The results came back to the model, which answered from them.
    assert '"result": "178,377"' in second.body["messages"][-1]["content"]


def test_words_before_a_remote_tool_call_are_not_the_answer(scripted) -> None:
    """A model that says something, then calls: the call is never read out, and the answer
    is the one made from the tool's result."""
    scripted.script.pieces = ["Let me ", "work that out."]
    scripted.script.words_before_calls = True
    scripted.script.tool_calls = [("calculator", '{"expression": "17.5% of 2340"}')]
    scripted.script.after_tools = ["It is 409.5."]
    # A word problem: a bare sum is run without a model round that could call anything.
    question = "A school has 2340 pupils and 17.5 percent of them cycle. How many cycle?"
    result, tools = asyncio.run(ask(remote(scripted.url), question))
    assert [t.result for t in tools] == ["409.5"]
    assert "<tool_call>" not in result.reply and result.reply.endswith("It is 409.5.")


@pytest.mark.parametrize("words_first", [False, True])
def test_a_tool_call_nobody_offered_is_never_shown_spoken_or_run(scripted, words_first) -> None:
    """A server that calls a tool of its own although Parley offered none (the question asks
    for no calculation): the call was the reply, saved and read out. It is taken out, nothing
    runs, and the user is told."""
    from app.bus.events import Notice

    scripted.script.pieces = ["Paris is ", "the capital."]
    scripted.script.words_before_calls = words_first
    scripted.script.tool_calls = [("delete_files", '{"path": "/"}')]
    notices: list[Notice] = []

    async def run() -> tuple[TurnFinished, list[ToolUsed]]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        bus.subscribe(Notice, notices.append)
        engines = Engines(bus, remote(scripted.url))
        engines.start(("llm",))
        turns = TurnManager(bus, engines, engines.settings, sink=None)
        tools: list[ToolUsed] = []
        done: asyncio.Future[TurnFinished] = loop.create_future()
        bus.subscribe(ToolUsed, tools.append)
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
        turns.ask("What is the capital of France?")
        result = await asyncio.wait_for(done, 120)
        await bus.drain()
        engines.shutdown()
        return result, tools

    result, tools = asyncio.run(run())
    assert not tools
    assert "tool_call" not in result.reply and "delete_files" not in result.reply
    assert result.reply == ("Paris is the capital." if words_first else "")
    assert any("delete_files" in n.message and "Nothing was run" in n.message for n in notices)
    assert "tools" not in scripted.chats()[-1].body  # none was offered


def answered(url: str, question: str, heard: tuple[type, ...]) -> tuple[TurnFinished, list]:
    """One typed turn against the server at `url`: its end, and the events of `heard` kinds."""
    got: list = []

    async def body() -> TurnFinished:
        bus = EventBus(asyncio.get_running_loop())
        for kind in heard:
            bus.subscribe(kind, got.append)
        engines = Engines(bus, remote(url))
        engines.start(("llm",))
        turns = TurnManager(bus, engines, engines.settings, sink=None)
        done: asyncio.Future[TurnFinished] = asyncio.get_running_loop().create_future()
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
        turns.ask(question)
        result = await asyncio.wait_for(done, 60)
        await bus.drain()
        engines.shutdown()
        return result

    return asyncio.run(body()), got


@pytest.mark.parametrize(
    ("pieces", "reply", "reasoning"),
    [
        (["<thi", "nk>The user wants a capital.", " Paris it is.</th", "ink>", "Paris."],
         "Paris.", "The user wants a capital. Paris it is."),
        (["<think>", "Still reasoning, never done"], "", "Still reasoning, never done"),
    ],
)  # fmt: skip
def test_a_reasoning_models_own_scratchpad_is_kept_apart(
    scripted, pieces: list[str], reply: str, reasoning: str
) -> None:
    """A reasoning model on a server (R1, QwQ) writes <think>…</think> before its answer:
    without --think it was printed, saved and spoken as the reply."""
    from app.bus.events import ReasoningDone

    scripted.script.pieces = pieces
    result, got = answered(scripted.url, "What is the capital of France?", (ReasoningDone,))
    assert result.reply.strip() == reply
    assert "<think>" not in result.reply and [g.text for g in got] == [reasoning]


@pytest.mark.parametrize(
    ("pieces", "reply", "tool"),
    [
        (["Sure. ", '[TOOL_CALLS][{"name": "wipe_disk", ', '"arguments": {"path": "/"}}]'],
         "Sure.", "wipe_disk"),
        (["<function=send_email><parameter=to>", "boss@example.com</parameter></func", "tion>",
          "Done."], "Done.", "send_email"),
    ],
)  # fmt: skip
def test_tool_call_markup_of_other_models_is_taken_out_too(
    scripted, pieces: list[str], reply: str, tool: str
) -> None:
    """Mistral's [TOOL_CALLS] and Qwen3-Coder's <function=…> written as text by a server
    offered no tools were printed and spoken as the reply (third hostile pass G26, G27)."""
    from app.bus.events import Notice

    scripted.script.pieces = pieces
    result, notices = answered(scripted.url, "Tell me something nice.", (Notice,))
    assert result.reply.strip() == reply
    assert any(tool in n.message and "Nothing was run" in n.message for n in notices), notices
