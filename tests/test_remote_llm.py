"""The remote LLM engine (app.llm.remote.RemoteChat) against real servers on loopback.

Most tests talk to the real llama-cpp-python OpenAI server (`python -m app.llm.serve`, the
`server` extra) running the default model with an API key; the rest use a scripted server
that records what it is sent, or sockets that accept and then hang. The API key must never
show up in logs, messages, repr() or printed settings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
import urllib.request
from collections.abc import Iterator

import pytest

from app.bus import EventBus
from app.bus.events import EngineStatus, ErrorRaised, LlmDelta, TurnFinished
from app.config import Settings
from app.llm.factory import create_llm
from app.llm.remote import DEFAULT_CONTEXT, RemoteChat, RemoteError, Timeouts
from app.models.errors import ModelError
from app.pipeline.attachments import vision_content
from app.pipeline.engines import Engines
from app.pipeline.turns import TurnManager
from tests.realtools import assert_clean_failure, mapped_rss, parley
from tests.remote_servers import (
    HangingServer,
    LlamaServer,
    ScriptedServer,
    closed_port,
    env_without_key,
)

KEY = "sk-parley-test-7f3a9c1e5b"  # the real server's key
WRONG_KEY = "sk-wrong-4d2e8a6b0c"
QUESTION = "What is the capital of France? Answer in one short sentence."
HI = [{"role": "user", "content": "Say hi."}]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    from app.models.defaults import default_llm

    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = LlamaServer(default_llm(), log, api_key=KEY)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


def no_key_anywhere(text: str, *keys: str) -> None:
    for key in keys or (KEY, WRONG_KEY):
        assert key not in text, f"an API key leaked into: {text[:500]}"


def remote_settings(url: str, key: str = KEY) -> Settings:
    s = Settings()
    s.llm_url = url
    s.llm_api_key = key
    s.llm_max_tokens = 24
    s.llm_temperature = 0.0
    return s


async def run_turn(
    settings: Settings,
    question: str,
    images: tuple = (),
    interrupt_after: int = 0,
    record: tuple[type, ...] = (),
) -> tuple[TurnFinished, list, Engines, TurnManager]:
    """One typed turn through the real Engines (real factory, warm-up included) and the turn
    manager; `interrupt_after` > 0 barges in after that many streamed pieces."""
    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    engines = Engines(bus, settings)
    engines.start(("llm",))
    turns = TurnManager(bus, engines, settings, sink=None)
    seen: list = []
    done: asyncio.Future[TurnFinished] = loop.create_future()
    bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
    bus.subscribe(ErrorRaised, seen.append)
    bus.subscribe(EngineStatus, seen.append)
    for kind in record:
        bus.subscribe(kind, seen.append)

    def on_delta(e: LlmDelta) -> None:
        seen.append(e)
        if interrupt_after and sum(isinstance(x, LlmDelta) for x in seen) == interrupt_after:
            turns.interrupt()

    bus.subscribe(LlmDelta, on_delta)
    for image in images:
        turns.attach(image)
    turns.ask(question)
    result = await asyncio.wait_for(done, 120)
    await bus.drain()
    return result, seen, engines, turns


# --- a real server: streamed replies ----------------------------------------------------------


@pytest.mark.models
def test_streams_a_reply_from_the_real_server(llama_server, caplog):
    caplog.set_level(logging.DEBUG)
    chat = RemoteChat(llama_server.url, api_key=KEY)
    pieces = list(chat.stream_chat([{"role": "user", "content": QUESTION}], 24, 0.0))
    assert len(pieces) > 2  # streamed, not one block
    assert "paris" in "".join(pieces).lower()
    # It learned the model's name from /v1/models (llama-cpp-python names it by file path).
    assert chat.name.startswith("qwen2.5-coder-1.5b-instruct-q4_k_m @ 127.0.0.1:")
    # This server says nothing of its context size: the documented default applies.
    assert chat.context_size == DEFAULT_CONTEXT
    # A second request reuses the kept-alive connection and works the same.
    assert "".join(chat.stream_chat(HI, 4, 0.0)).strip()
    assert "POST http://127.0.0.1" in caplog.text  # requests are logged at DEBUG ...
    no_key_anywhere(caplog.text)  # ... without the key
    no_key_anywhere(repr(chat) + str(vars(chat).get("name")))
    chat.close()


@pytest.mark.models
def test_the_server_does_not_keep_the_repacked_weights_mapped(llama_server):
    """On AMX CPUs the server loads as the app does: its mapping of the 1.1 GB file holds
    only the weights it reads from there, not a second copy of the repacked ones."""
    from app.llm.cpu_buffers import needs_amx_workaround
    from app.models.defaults import default_llm

    if not needs_amx_workaround():
        pytest.skip("only CPUs with AMX get Parley's own buffer choice")
    assert "".join(RemoteChat(llama_server.url, api_key=KEY).stream_chat(HI, 4, 0.0)).strip()
    path = default_llm()
    resident = mapped_rss(path, pid=llama_server.proc.pid)
    assert 0 < resident < 0.5 * path.stat().st_size, resident


@pytest.mark.models
def test_token_estimate_is_an_upper_bound_of_the_real_count(llama_server):
    text = (
        "Parley is a local, private desktop voice assistant. Hold the talk button, speak, "
        "let go: it transcribes you, thinks, and answers out loud while the words stream."
    ) * 4
    request = urllib.request.Request(
        f"{llama_server.url}/extras/tokenize",
        data=json.dumps({"input": text}).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        real = len(json.load(resp)["tokens"])
    estimate = RemoteChat(llama_server.url).count_tokens([{"role": "user", "content": text}])
    assert real < estimate < real * 2  # safe, and not so cautious that history is wasted


@pytest.mark.models
def test_a_whole_turn_through_the_turn_manager(llama_server, caplog):
    caplog.set_level(logging.DEBUG)
    settings = remote_settings(llama_server.url)
    result, seen, engines, _ = asyncio.run(run_turn(settings, QUESTION))
    engines.shutdown()
    assert not [e for e in seen if isinstance(e, ErrorRaised)], seen
    ready = [e for e in seen if isinstance(e, EngineStatus) and e.state == "ready"]
    assert ready and "@ 127.0.0.1" in ready[0].detail  # the status line names the server
    assert sum(isinstance(e, LlmDelta) for e in seen) > 2
    assert "paris" in result.reply.lower()
    assert result.timings["llm_first_token"] is not None
    no_key_anywhere(caplog.text + repr(settings) + str(settings) + repr(engines.llm))


@pytest.mark.models
def test_parley_ask_with_llm_url_prints_json(llama_server):
    env = env_without_key()
    env["PARLEY_LLM_API_KEY"] = KEY  # the key need not be on the command line
    run = parley(
        "-v",  # debug logging on: it must not print the key either
        "ask",
        "--text",
        QUESTION,
        "--llm-url",
        f"{llama_server.url}/v1",
        "--json",
        "--max-tokens",
        "24",
        env=env,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert "paris" in out["reply"].lower()
    assert out["timings"]["llm_first_token"] > 0
    no_key_anywhere(run.stdout + run.stderr)


# --- a real server: refusals ------------------------------------------------------------------


@pytest.mark.models
def test_wrong_or_missing_key_is_explained_and_never_shown(llama_server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = RemoteChat(llama_server.url, api_key=WRONG_KEY)
    with pytest.raises(RemoteError) as err:
        list(wrong.stream_chat(HI, 4, 0.0))
    message = str(err.value)
    assert message == (
        f"The LLM server at {llama_server.url} refused the API key (HTTP 401: Invalid API key). "
        "Check the key in Settings, or with --llm-key or PARLEY_LLM_API_KEY for `parley ask`."
    )
    with pytest.raises(RemoteError) as err:
        RemoteChat(llama_server.url).warm_up()
    assert "needs an API key (HTTP 401" in str(err.value)
    no_key_anywhere(message + str(err.value) + caplog.text + repr(wrong))

    # The same through a turn: the user reads the server's reason, not a traceback.
    result, seen, engines, _ = asyncio.run(
        run_turn(remote_settings(llama_server.url, WRONG_KEY), "Hi")
    )
    engines.shutdown()
    errors = [e.message for e in seen if isinstance(e, ErrorRaised)]
    assert errors == [f"Can't answer: {message}"]
    statuses = [e for e in seen if isinstance(e, EngineStatus) and e.state == "error"]
    assert statuses and "refused the API key" in statuses[0].detail  # seen at load already
    no_key_anywhere(caplog.text + " ".join(errors))

    env = env_without_key()
    env["PARLEY_LLM_API_KEY"] = WRONG_KEY
    run = parley("ask", "--text", "Hi", "--llm-url", llama_server.url, env=env)
    assert assert_clean_failure(run, 1) == f"parley: {message}"
    no_key_anywhere(run.stdout + run.stderr)


@pytest.mark.models
def test_wrong_path_says_so(llama_server):
    chat = RemoteChat(f"{llama_server.url}/not-the-api", api_key=KEY)
    with pytest.raises(RemoteError) as err:
        list(chat.stream_chat(HI, 4, 0.0))
    assert str(err.value).startswith(
        f"The LLM server at {llama_server.url}/not-the-api has no such model or no "
        "OpenAI-compatible API at /not-the-api/v1/chat/completions (HTTP 404"
    )


# --- a real server: barge-in ------------------------------------------------------------------


def _first_token_seconds(chat: RemoteChat) -> float:
    started = time.monotonic()
    stream = chat.stream_chat(HI, 2, 0.0)
    next(stream)
    stream.close()
    return time.monotonic() - started


@pytest.mark.models
def test_closing_the_stream_stops_the_server_generating(llama_server):
    """The server serves one generation at a time; if closing our stream did not stop the
    long one, the next request would wait for its 1500 tokens (minutes on one thread)."""
    chat = RemoteChat(llama_server.url, api_key=KEY, timeouts=Timeouts(first_token=30))
    quick = _first_token_seconds(chat)
    long = chat.stream_chat(
        [{"role": "user", "content": "Count from 1 to 2000, separated by commas."}], 1500, 0.0
    )
    assert [next(long) for _ in range(3)]
    closed_at = time.monotonic()
    long.close()
    assert time.monotonic() - closed_at < 0.5  # closing never waits for the server
    after = _first_token_seconds(chat)
    assert after < quick + 10, (quick, after)
    assert "Disconnected from client" in llama_server.log()


@pytest.mark.models
def test_barge_in_on_a_remote_turn_frees_the_llm_worker(llama_server):
    settings = remote_settings(llama_server.url)
    settings.llm_max_tokens = 1500

    async def main() -> tuple[TurnFinished, float]:
        result, _, engines, _ = await run_turn(
            settings, "Count from 1 to 2000, separated by commas.", interrupt_after=3
        )
        started = time.monotonic()
        # The next job on the LLM worker runs as soon as the cancelled stream is closed.
        await engines.worker("llm").run(lambda: None)
        waited = time.monotonic() - started
        engines.shutdown()
        return result, waited

    result, waited = asyncio.run(main())
    assert result.interrupted
    assert waited < 5, waited
    chat = RemoteChat(llama_server.url, api_key=KEY)
    assert _first_token_seconds(chat) < 15  # the server is free again, not counting to 2000


# --- servers that are not there, or hang ------------------------------------------------------


def test_refused_connection_is_quick_and_clear(caplog):
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{closed_port()}"
    chat = RemoteChat(url, api_key=KEY)
    started = time.monotonic()
    with pytest.raises(RemoteError) as err:
        list(chat.stream_chat(HI, 4, 0.0))
    assert time.monotonic() - started < 2
    message = f"Could not reach the LLM server at {url}: connection refused. Is it running?"
    assert str(err.value) == message
    assert err.value.transient
    # At load, a server that is down is only a warning: the engine stays, and tries again.
    chat.warm_up()
    assert f"{message} Parley will try again at the first question." in caplog.text
    no_key_anywhere(caplog.text)


def test_parley_started_before_its_server_answers_once_the_server_is_up():
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    settings = remote_settings(url)

    async def main() -> tuple[list[TurnFinished], list]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        engines = Engines(bus, settings)
        engines.start(("llm",))
        turns = TurnManager(bus, engines, settings, sink=None)
        seen: list = []
        results: list[TurnFinished] = []
        bus.subscribe(ErrorRaised, seen.append)
        bus.subscribe(EngineStatus, seen.append)
        server = None
        for _ in range(2):
            done: asyncio.Future[TurnFinished] = loop.create_future()
            unsubscribe = bus.subscribe(TurnFinished, lambda e, d=done: d.done() or d.set_result(e))
            turns.ask("Hi")
            results.append(await asyncio.wait_for(done, 30))
            unsubscribe()
            server = server or ScriptedServer(port)  # up after the first question
        await bus.drain()
        assert server is not None
        server.stop()
        engines.shutdown()
        return results, seen

    results, seen = asyncio.run(main())
    assert [e.state for e in seen if isinstance(e, EngineStatus)] == ["loading", "ready"]
    errors = [e.message for e in seen if isinstance(e, ErrorRaised)]
    assert errors == [
        f"Can't answer: Could not reach the LLM server at {url}: connection refused. Is it running?"
    ]
    assert [r.reply for r in results] == ["", "Hello there."]


def test_refused_connection_through_the_cli():
    url = f"http://127.0.0.1:{closed_port()}"
    run = parley("ask", "--text", "Hi", "--llm-url", url, "--json", env=env_without_key())
    line = assert_clean_failure(run, 1)
    assert line == (
        f"parley: Can't answer: Could not reach the LLM server at {url}: connection refused. "
        "Is it running?"
    )
    assert json.loads(run.stdout)["error"] == line.removeprefix("parley: ")


def test_unknown_host_is_named():
    chat = RemoteChat("http://no-such-host.invalid:8080")
    with pytest.raises(RemoteError, match=r"the host name no-such-host\.invalid was not found"):
        list(chat.stream_chat(HI, 4, 0.0))


@pytest.mark.parametrize("kind", ["silent", "pings"])
def test_a_server_that_never_answers_times_out(kind):
    server = HangingServer(kind)
    try:
        chat = RemoteChat(server.url, timeouts=Timeouts(first_token=1.0))
        started = time.monotonic()
        with pytest.raises(RemoteError) as err:
            list(chat.stream_chat(HI, 4, 0.0))
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    # The model probe and the chat request each wait at most the first-token timeout.
    assert elapsed < 4, elapsed
    assert str(err.value).startswith(f"The LLM server at {server.url} ")
    if kind == "silent":
        assert "accepted the request but sent no reply within 1 s" in str(err.value)


def test_a_reply_that_stalls_midway_times_out():
    server = HangingServer("stalls")
    try:
        chat = RemoteChat(server.url, timeouts=Timeouts(first_token=1.0, idle=1.0))
        chat._probed = True  # straight to the chat request
        pieces: list[str] = []
        started = time.monotonic()
        with pytest.raises(RemoteError) as err:
            for piece in chat.stream_chat(HI, 4, 0.0):
                pieces.append(piece)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert pieces == ["Hel"]
    assert elapsed < 3, elapsed  # pings do not count as progress
    assert str(err.value) == (
        f"The LLM server at {server.url} stopped in the middle of the reply (nothing for 1 s)."
    )


# --- what goes over the wire (a scripted server that records it) --------------------------------


def test_request_carries_images_unchanged_and_the_key_in_the_header(scripted, tmp_path):
    from app.vision.images import prepare_image
    from tests import image_factory

    image = prepare_image(image_factory.receipt(tmp_path))
    parts = vision_content("What is the total?", [image])
    chat = RemoteChat(scripted.url + "/v1/", model="llava-big", api_key=KEY, vision=True)
    assert chat.supports_vision
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": parts},
    ]
    assert "".join(chat.stream_chat(messages, 16, 0.2)) == "Hello there."
    sent = scripted.chats()[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "llava-big"
    assert sent.body["stream"] is True and sent.body["max_tokens"] == 16
    assert sent.body["messages"][1]["content"] == parts  # the data: URI, byte for byte
    assert sent.body["messages"][1]["content"][1]["image_url"]["url"] == image.data_uri()
    # Images are counted as a fixed cost, not as their base64 characters.
    assert chat.count_tokens(messages) < 2000


def test_images_are_refused_unless_the_user_says_the_model_sees(scripted, tmp_path):
    from app.vision.images import prepare_image
    from tests import image_factory

    image = prepare_image(image_factory.blank(tmp_path))
    chat = RemoteChat(scripted.url, api_key=KEY)
    assert not chat.supports_vision
    with pytest.raises(ValueError, match="not set up to see images"):
        chat.stream_chat([{"role": "user", "content": vision_content("Hi", [image])}], 8, 0.0)
    # Text-only content parts become plain text, which every server accepts.
    list(chat.stream_chat([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}], 8, 0.0))
    assert scripted.chats()[-1].body["messages"][0]["content"] == "Hi"


def test_an_image_turn_reaches_a_remote_vision_model_as_a_data_uri(scripted, tmp_path):
    from app.vision.images import prepare_image
    from tests import image_factory

    image = prepare_image(image_factory.receipt(tmp_path))
    settings = remote_settings(scripted.url)
    settings.llm_remote_vision = True
    result, seen, engines, turns = asyncio.run(run_turn(settings, "What is the total?", (image,)))
    engines.shutdown()
    assert result.reply == "Hello there."
    last = scripted.chats()[-1].body["messages"][-1]
    assert last["content"] == vision_content("What is the total?", [image])
    assert turns.history.messages[-2]["content"].endswith("[The user attached: receipt.png]")
    # The model name came from the server's list, as none was set.
    assert scripted.chats()[-1].body["model"] == "big-model-70b"


def test_context_size_from_setting_server_or_default(scripted):
    scripted.script.models = {"data": [{"id": "m", "max_model_len": 32768}]}  # vLLM
    chat = RemoteChat(scripted.url)
    assert chat.context_size == DEFAULT_CONTEXT  # not asked yet: no network on this property
    chat.probe()
    assert chat.context_size == 32768
    assert RemoteChat(scripted.url, context_size=4096).context_size == 4096  # the setting wins

    scripted.script.models = {"data": [{"id": "m"}]}
    scripted.script.props = {"default_generation_settings": {"n_ctx": 16384}}  # llama.cpp
    chat = RemoteChat(scripted.url)
    chat.probe()
    assert chat.context_size == 16384

    scripted.script.models = None  # a server without /v1/models still works
    scripted.script.props = None
    chat = RemoteChat(scripted.url, model="x")
    assert "".join(chat.stream_chat(HI, 8, 0.0)) == "Hello there."
    assert chat.context_size == DEFAULT_CONTEXT


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            404,
            b'{"error": {"message": "The model `llama9` does not exist.", "code": 404}}',
            "has no model named 'llama9' or no OpenAI-compatible API at /v1/chat/completions "
            "(HTTP 404: The model `llama9` does not exist.)",
        ),
        (
            500,
            b'{"error": "llama runner process has terminated"}',  # Ollama's shape
            "failed (HTTP 500: llama runner process has terminated).",
        ),
        (
            400,
            b'{"object": "error", "message": "This model\'s maximum context length is 4096"}',
            "rejected the request (HTTP 400: This model's maximum context length is 4096).",
        ),
        # A proxy's HTML page: its title, not its markup (third hostile pass G16).
        (503, b"<html>Bad Gateway</html>", "failed (HTTP 503 Service Unavailable)."),
        (
            401,
            b"<html><head><title>401 Authorization Required</title></head><body><center>"
            b"nginx</center></body></html>",
            "refused the API key (HTTP 401: 401 Authorization Required).",
        ),
        (429, b"", "is busy or rate-limited (HTTP 429 Too Many Requests). Try again"),
        (403, b'{"detail": "Forbidden"}', "refused the API key (HTTP 403: Forbidden)."),
    ],
)
def test_http_errors_carry_the_servers_reason(scripted, status, body, expected):
    scripted.script.status = status
    scripted.script.error_body = body
    chat = RemoteChat(scripted.url, model="llama9", api_key=KEY)
    with pytest.raises(RemoteError) as err:
        list(chat.stream_chat(HI, 8, 0.0))
    assert str(err.value).startswith(f"The LLM server at {scripted.url} {expected}")


def test_a_server_echoing_the_key_in_an_error_is_scrubbed(scripted, caplog):
    caplog.set_level(logging.DEBUG)
    scripted.script.status = 400
    scripted.echo_auth = True
    chat = RemoteChat(scripted.url, api_key=KEY)
    with pytest.raises(RemoteError) as err:
        list(chat.stream_chat(HI, 8, 0.0))
    assert "bad header Bearer [API key]" in str(err.value)
    no_key_anywhere(str(err.value) + caplog.text)


def test_a_kept_alive_connection_the_server_closed_is_replaced(scripted):
    scripted.script.drop_idle = True
    scripted.script.props = {"default_generation_settings": {"n_ctx": 4096}}
    chat = RemoteChat(scripted.url)
    chat.probe()  # leaves a connection the client thinks is alive; the server has closed it
    assert chat.server._idle_conn is not None and scripted.connections_closed == 2
    assert "".join(chat.stream_chat(HI, 8, 0.0)) == "Hello there."
    assert [r.path for r in scripted.requests] == ["/v1/models", "/props", "/v1/chat/completions"]
    assert chat.context_size == 4096


def test_errors_inside_the_stream_and_unstreamed_replies(scripted):
    scripted.script.mid_stream_error = "out of memory"
    chat = RemoteChat(scripted.url)
    pieces: list[str] = []
    with pytest.raises(RemoteError, match="reported an error: out of memory"):
        for piece in chat.stream_chat(HI, 8, 0.0):
            pieces.append(piece)
    assert pieces == ["Hello"]

    scripted.script.mid_stream_error = ""
    scripted.script.stream = False  # a proxy that ignored stream=true
    assert "".join(chat.stream_chat(HI, 8, 0.0)) == "Hello there."


@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_with_nothing_visible_is_an_empty_reply(scripted, stream):
    """Tabs, a line break, a word joiner and a BOM were printed as a blank answer and saved."""
    scripted.script.pieces = ["\t", "\r\n", "\u2060 \ufeff"]
    scripted.script.stream = stream
    chat = RemoteChat(scripted.url)
    pieces: list[str] = []
    with pytest.raises(RemoteError, match="sent an empty reply"):
        for piece in chat.stream_chat(HI, 8, 0.0):
            pieces.append(piece)
    assert pieces == []
    scripted.script.pieces = ["\n", " ", "Ja", "."]  # blank first pieces stay with the reply
    assert "".join(chat.stream_chat(HI, 8, 0.0)) == "\n Ja."


# --- settings, factory, addresses -------------------------------------------------------------


def test_settings_keep_the_key_private(tmp_path, monkeypatch, capsys):
    path = tmp_path / "settings.json"
    s = Settings(llm_url="http://gpu-box:8080/v1", llm_remote_model="qwen-72b", llm_api_key=KEY)
    s.llm_remote_vision = True
    s.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = Settings.load(path)
    assert (loaded.llm_url, loaded.llm_api_key, loaded.llm_remote_vision) == (
        s.llm_url,
        KEY,
        True,
    )
    print(loaded)  # what a careless debug print would show
    no_key_anywhere(capsys.readouterr().out + repr(loaded))

    chat = create_llm(loaded)
    assert isinstance(chat, RemoteChat) and chat.supports_vision
    assert chat.name == "qwen-72b @ gpu-box:8080"
    no_key_anywhere(repr(chat))

    # The environment supplies a key when settings have none.
    monkeypatch.setenv("PARLEY_LLM_API_KEY", WRONG_KEY)
    assert create_llm(Settings(llm_url="http://x:1")).server.headers("*/*", False)[
        "Authorization"
    ] == (f"Bearer {WRONG_KEY}")


def test_command_line_options_choose_the_remote_model():
    from app.cli.main import build_parser, settings_from_args

    args = build_parser().parse_args(
        [
            "ask",
            "--text",
            "hi",
            "--llm-url",
            "http://h:1/v1",
            "--llm-model-name",
            "m",
            "--llm-key",
            KEY,
            "--llm-vision",
        ]
    )
    s = settings_from_args(args)
    assert (s.llm_url, s.llm_remote_model, s.llm_api_key, s.llm_remote_vision) == (
        "http://h:1/v1",
        "m",
        KEY,
        True,
    )
    # --llm-model keeps its meaning (a local GGUF) and beats a remote URL saved in settings.
    Settings(llm_url="http://h:1").save()
    args = build_parser().parse_args(["ask", "--text", "hi", "--llm-model", "/m.gguf"])
    s = settings_from_args(args)
    assert (s.llm_url, s.llm_model) == ("", "/m.gguf")


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("localhost:8080", "http://localhost:8080/v1/chat/completions"),
        ("http://h:8080/v1/", "http://h:8080/v1/chat/completions"),
        ("https://h/openai/v1", "https://h/openai/v1/chat/completions"),
        ("http://h:11434", "http://h:11434/v1/chat/completions"),
    ],
)
def test_addresses_people_type(url, root):
    chat = RemoteChat(url)
    server = chat.server
    assert f"{server.scheme}://{server.netloc}{server.root}/v1/chat/completions" == root


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://h/v1", "must start with http:// or https://"),
        ("http://user:secret@h:8080", "must not contain a user name or password"),
        ("http://h:8080/v1?key=1", "without ?"),
        ("http://h:99999", "invalid port"),
        ("http://", "has no host name"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(url, why):
    with pytest.raises(ModelError, match=why.replace("?", r"\?")) as err:
        RemoteChat(url)
    assert "secret" not in str(err.value)


def test_repr_names_the_server_not_the_key():
    chat = RemoteChat("http://h:1", model="m", api_key=KEY)
    assert repr(chat) == "RemoteChat(url='http://h:1', model='m', api_key=set)"


@pytest.mark.models
def test_the_real_server_calls_the_calculator_through_its_api(llama_server):
    """llama-cpp-python's server renders the tools from the request into the model's own
    template; the call it answers with is run, and the answer is made from the result."""
    from app.bus.events import ToolUsed

    settings = remote_settings(llama_server.url)
    settings.llm_max_tokens = 64  # room for the call itself
    result, seen, engines, _ = asyncio.run(
        run_turn(settings, "What is 4821 times 37?", record=(ToolUsed,))
    )
    engines.shutdown()
    assert [(t.name, t.result) for t in seen if isinstance(t, ToolUsed)] == [
        ("calculator", "178,377")
    ]
    assert "178,377" in result.reply or "178377" in result.reply, result.reply


def test_a_bad_server_address_in_the_settings_file_is_named_there_and_not_used(
    tmp_path, monkeypatch, capsys
) -> None:
    """A file:// llm_url in settings.json had failed every question with "must start with
    http://", not saying it came from the settings file; now the local model answers and the
    notice names the file (a bad value on the command line still stops at once)."""
    import argparse

    from app.cli.ask_checks import choice_problem

    monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path))
    (tmp_path / "settings.json").write_text('{"llm_url": "file:///etc/passwd"}')
    settings, problems = Settings.load_checked()
    assert problems == [] and settings.llm_url == "file:///etc/passwd"
    assert choice_problem(argparse.Namespace(), settings) == ""
    assert settings.llm_url == ""  # the local model answers
    said = capsys.readouterr().err
    assert str(tmp_path / "settings.json") in said and "must start with http" in said
    typed = Settings(llm_url="file:///etc/passwd")
    assert "must start with http" in choice_problem(argparse.Namespace(llm_url="x"), typed)


def test_https_to_a_plain_http_server_says_to_use_http(scripted):
    """OpenSSL's "WRONG_VERSION_NUMBER" was the whole message (third hostile pass G30)."""
    url = scripted.url.replace("http://", "https://")
    with pytest.raises(RemoteError) as err:
        list(RemoteChat(url).stream_chat(HI, 4, 0.0))
    assert "plain http, not https; use an http:// address" in str(err.value)
