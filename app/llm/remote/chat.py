"""A chat model on an OpenAI-compatible server: llama.cpp's server, vLLM, Ollama, LM Studio, ….

For models bigger than the laptop: Parley sends the conversation to `POST …/v1/chat/completions`
with `stream: true` and reads the events as they come (stream.py), over the connection of
connection.py, which alone holds the API key (not in logs, messages or repr()).

What the server cannot tell us is estimated: tokens are counted as characters / 3 plus a
per-message overhead (an upper bound for common tokenizers on English), and the context size
comes from the user's setting, else from the server (vLLM's `max_model_len` in /v1/models,
llama.cpp's `n_ctx` in /props), else 8192.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from app.llm.base import Message
from app.llm.remote.address import display_name
from app.llm.remote.connection import Server, Timeouts
from app.llm.remote.errors import RemoteError, short
from app.llm.remote.stream import (
    STREAM_BYTES_MIN,
    STREAM_BYTES_PER_TOKEN,
    Deadline,
    ReplyLimit,
    ToolCalls,
    choice_text,
    decode,
    events,
    has_tool_call,
    visible,
)
from app.llm.vision import text_of

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 8192
CHARS_PER_TOKEN = 3  # English runs ~4 characters a token; 3 keeps the estimate an upper bound
MESSAGE_OVERHEAD = 8  # role header and end-of-turn markers of common chat templates
IMAGE_TOKENS = 768  # what an image may cost; servers' vision encoders mostly use 64-1024


def image_count(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, Mapping) and p.get("type") == "image_url")


class RemoteChat:
    """A ChatModel served by an OpenAI-compatible server at `url`.

    `model` may be empty: the first model the server lists is used (llama.cpp and
    llama-cpp-python serve one and accept any name). `vision`: the user says the model sees
    images; user messages may then carry `image_url` parts (data: URIs), sent unchanged.
    `context_size` 0 means ask the server. `timeouts`: connection.Timeouts.
    """

    def __init__(
        self,
        url: str,
        *,
        model: str = "",
        api_key: str = "",
        vision: bool = False,
        context_size: int = 0,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.server = Server(url, api_key, timeouts)
        self.url = self.server.url
        self.model = model.strip()
        self._vision = vision
        self._context_setting = max(0, context_size)
        self._server_context = 0
        self._probed = False
        self.name = self._make_name()

    @property
    def model(self) -> str:
        return self.server.model

    @model.setter
    def model(self, value: str) -> None:
        self.server.model = value

    def __repr__(self) -> str:
        key = "set" if self.server.has_key else "none"
        return f"RemoteChat(url={self.url!r}, model={self.model!r}, api_key={key})"

    def _make_name(self) -> str:
        shown = display_name(self.model) if self.model else "remote model"
        return f"{shown} @ {self.server.netloc}"

    @property
    def supports_vision(self) -> bool:
        return self._vision

    @property
    def context_size(self) -> int:
        """The user's setting, else what the server said (once asked), else 8192. Never does
        network I/O itself, so the window may read it on its own thread."""
        return self._context_setting or self._server_context or DEFAULT_CONTEXT

    def count_tokens(self, messages: list[Message]) -> int:
        total = MESSAGE_OVERHEAD
        for m in messages:
            content: Any = m["content"]
            text = text_of(content)
            total += MESSAGE_OVERHEAD + -(-len(text) // CHARS_PER_TOKEN)
            total += IMAGE_TOKENS * image_count(content)
        return total

    def warm_up(self, system_prompt: str = "", chat: bool = True) -> None:
        """Learn the server's model and context, and (`chat`) have it process the system
        prompt once, so a server with a prompt cache starts the first real turn from there.

        Settings the user must fix (a refused key, an unknown model, an address that is not
        an OpenAI API) raise RemoteError, so the new engine is refused with the reason. A
        server that is down or busy does not: the engine stays usable and each question
        tries again, so starting Parley before the server costs nothing but that question.
        """
        messages: list[Message] = [{"role": "user", "content": "Hi"}]
        if system_prompt:
            messages.insert(0, {"role": "system", "content": system_prompt})
        try:
            self.probe()
            for _ in self.stream_chat(messages, 1, 0.0) if chat else ():
                pass
        except RemoteError as exc:
            if not exc.transient:
                raise
            log.info("%s Parley will try again at the first question.", exc)

    def close(self) -> None:
        self.server.drop_idle()

    # --- server information -----------------------------------------------------------------

    def probe(self) -> None:
        """Ask the server for its models and context size (/v1/models, then llama.cpp's
        /props). Unreachable or a refused key raise RemoteError; a server that lacks these
        endpoints is fine."""
        try:
            listing = self.server.get_json(self.server.root + "/v1/models")
        except RemoteError as exc:
            if exc.status in (404, 405, 501):
                listing = None  # an endpoint this server lacks
            else:
                raise
        entries = listing.get("data") if isinstance(listing, dict) else None
        entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
        ids = [str(e.get("id", "")) for e in entries if e.get("id")]
        if not self.model and ids:
            self.model = ids[0]
            self.name = self._make_name()
        elif self.model and ids and self.model not in ids:
            log.warning(
                "the server at %s lists %s, not %r; asking for it anyway",
                self.url,
                ", ".join(ids[:5]),
                self.model,
            )
        context = 0
        for entry in entries:
            if entry.get("id") == self.model or len(entries) == 1:
                for key in ("max_model_len", "context_length", "max_context_length"):
                    value = entry.get(key)
                    if isinstance(value, int) and value > 0:
                        context = value
                        break
        if not context:
            try:
                props = self.server.get_json(self.server.root + "/props")
            except RemoteError:
                props = None  # not llama.cpp's own server
            settings = props.get("default_generation_settings") if isinstance(props, dict) else None
            value = settings.get("n_ctx") if isinstance(settings, dict) else None
            if isinstance(value, int) and value > 0:
                context = value
        self._server_context = context
        self._probed = True
        log.info("remote LLM %s at %s, context %d", self.model or "?", self.url, self.context_size)

    # --- chat -------------------------------------------------------------------------------

    supports_tools = True  # stream_chat(tools=[schema, ...]): the API's own tool calling

    def stream_chat(
        self,
        messages: list[Message],
        max_tokens: int,
        temperature: float,
        tools: list[dict[str, Any]] | None = None,
    ) -> Iterator[str]:
        """Reply text pieces as the server streams them. Bad content raises ValueError at once;
        server problems raise RemoteError while iterating. Closing the iterator closes the
        connection. With `tools` (OpenAI function schemas) the server may answer with tool
        calls; each comes out as `<tool_call>{"name", "arguments"}</tool_call>` text, the
        form app/pipeline/tool_use.py reads from every engine."""
        body = self._request_body(messages, max_tokens, temperature, tools)
        return self._stream(body, max_tokens)

    def _request_body(
        self,
        messages: list[Message],
        max_tokens: int,
        temperature: float,
        tools: list[dict[str, Any]] | None = None,
    ) -> bytes:
        prepared: list[dict[str, Any]] = []
        for m in messages:
            content: Any = m["content"]
            if isinstance(content, list):
                if image_count(content):
                    if not self._vision:
                        raise ValueError(
                            f"{self.name} is not set up to see images: tick 'The model sees "
                            "images' in Settings if it does."
                        )
                    if m["role"] != "user":
                        raise ValueError("Only user messages may carry images")
                    # Passed through unchanged: the data: URIs go to the server as they are.
                else:
                    content = text_of(content)  # plain text suits every server
            elif not isinstance(content, str):
                raise ValueError(f"Unsupported message content: {type(content).__name__}")
            prepared.append({"role": m["role"], "content": content})
        request: dict[str, Any] = {
            "messages": prepared,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if self.model:
            request["model"] = self.model
        if tools:
            request["tools"] = tools
            request["tool_choice"] = "auto"  # "required" is not understood everywhere
        return json.dumps(request, ensure_ascii=False).encode("utf-8")

    def _stream(self, body: bytes, max_tokens: int) -> Iterator[str]:
        """The reply's text pieces, never more than `max_tokens` pieces (nor characters of
        MAX_CHARS_PER_TOKEN each): a server that streams past the limit it was sent is cut
        off, as the local model stops at it."""
        if not self._probed:
            try:
                self.probe()  # model name and context size, once
            except RemoteError as exc:
                # The chat request below says what is wrong if it matters; try again next turn.
                log.info("could not ask the server about its model: %s", exc)
        path = self.server.root + "/v1/chat/completions"
        started = time.monotonic()
        conn, resp = self.server.send("POST", path, body, accept="text/event-stream")
        finished = False
        limit = ReplyLimit(max(1, max_tokens))
        try:
            self._check_encoding(resp)
            kind = resp.getheader("Content-Type", "") or ""
            if "text/event-stream" not in kind:
                # A server (or proxy) that ignored stream=true: one JSON reply.
                body_read = self.server.read_all(resp, self.server.timeouts.first_token)
                data = decode(self.server, body_read, path)
                text = limit.take(choice_text(self.server, data, "message", path))
                calls = ToolCalls()
                calls.add(data, "message")
                pieces = [text, *calls.as_text()]
                if not (visible(text) or any(pieces[1:])):
                    raise self._empty_reply()
                yield from (p for p in pieces if p)
                finished = True
                return
            timeouts = self.server.timeouts
            clock = Deadline(started + timeouts.first_token, started + timeouts.reply)
            calls = ToolCalls()
            said, held = False, ""
            budget = max(STREAM_BYTES_MIN, max_tokens * STREAM_BYTES_PER_TOKEN)
            for data in events(self.server, conn, resp, clock, budget):
                clock.progress(self.server.timeouts.idle)
                if data == "[DONE]":
                    finished = True
                    break
                event = decode(self.server, data.encode("utf-8"), path)
                text = choice_text(self.server, event, "delta", path)
                calls.add(event, "delta")
                if text or has_tool_call(event):
                    piece = limit.take(text)
                    # Blank pieces wait for the first visible one: a reply of only spaces
                    # and zero-width spaces is an empty reply, not a blank answer.
                    if not said and (has_tool_call(event) or visible(piece)):
                        said, piece, held = True, held + piece, ""
                    if not said:
                        held += piece
                    elif piece:
                        yield piece
                    if limit.over:
                        log.info("%s streamed past max_tokens=%d: cut", self.url, max_tokens)
                        break  # not finished: closing the connection stops the server
            else:
                finished = True  # the server ended the stream without [DONE]: fine too
            if not said:
                finished = False
                raise self._empty_reply()
            yield from calls.as_text()
        finally:
            if finished and self.server.drained(conn, resp):
                self.server.keep(conn)
            else:
                self.server.abort(conn, resp)  # barge-in or error: the server must see us go

    def _check_encoding(self, resp: http.client.HTTPResponse) -> None:
        """Parley asks for no compression; a body compressed anyway (a gzip bomb, or a proxy's
        habit) would be read as garbage, so it is refused with what was sent."""
        encoding = (resp.getheader("Content-Encoding", "") or "").strip().lower()
        if encoding not in ("", "identity"):
            raise RemoteError(
                f"The LLM server at {self.url} sent a compressed reply "
                f"({self.server.scrub(short(encoding))}), which Parley did not ask for and does "
                "not read. Turn compression off on the server or the proxy in front of it."
            )

    def _empty_reply(self) -> RemoteError:
        return RemoteError(
            f"The LLM server at {self.url} sent an empty reply (no text and no tool call). "
            "Check that the address is an OpenAI-compatible API and that the model is loaded.",
            transient=True,
        )
