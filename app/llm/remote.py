"""A chat model on an OpenAI-compatible server: llama.cpp's server, vLLM, Ollama, LM Studio, ….

For models bigger than the laptop: Parley sends the conversation to `POST …/v1/chat/completions`
with `stream: true` and reads the Server-Sent Events as they come (`data: {json}` lines, ended
by `data: [DONE]`). Only the standard library is used (http.client), so closing the stream
really closes the socket: the server sees the client go and stops generating (barge-in).

The API key goes in an `Authorization: Bearer …` header and nowhere else: not in logs, error
messages (server text is scrubbed of it too) or repr().

What the server cannot tell us is estimated: tokens are counted as characters / 3 plus a
per-message overhead (an upper bound for common tokenizers on English), and the context size
comes from the user's setting, else from the server (vLLM's `max_model_len` in /v1/models,
llama.cpp's `n_ctx` in /props), else 8192.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from app import __version__
from app.llm.base import Message
from app.llm.vision import text_of
from app.models.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 8192
CHARS_PER_TOKEN = 3  # English runs ~4 characters a token; 3 keeps the estimate an upper bound
MESSAGE_OVERHEAD = 8  # role header and end-of-turn markers of common chat templates
IMAGE_TOKENS = 768  # what an image may cost; servers' vision encoders mostly use 64-1024
ERROR_TEXT_LIMIT = 300  # characters of a server's error text worth showing
PROBE_TIMEOUT = 10.0  # seconds for /v1/models and /props: small answers, or none at all
REPLY_TIMEOUT = 300.0  # seconds for a whole reply (llm_remote_deadline in settings.json)
# A reply is cut at max_tokens streamed pieces, or at this many characters a token: a long
# token (a run of spaces in code) stays under it, a server streaming far more than asked does not.
MAX_CHARS_PER_TOKEN = 16
# Bytes of a stream, beyond its text: one event costs a few hundred bytes of JSON a token.
STREAM_BYTES_PER_TOKEN = 4096
STREAM_BYTES_MIN = 8 << 20


class _Deadline:
    """When the stream times out: `first_token_timeout` after the request until the first
    event, then `idle_timeout` after each one, and never later than `end` (the whole reply's
    deadline: a server trickling a token every 20 s never goes idle). SSE comments (pings) do
    not move it."""

    def __init__(self, at: float, end: float) -> None:
        self.end = end
        self.at = min(at, end)
        self.first = True

    def progress(self, idle: float) -> None:
        self.first = False
        self.at = min(time.monotonic() + idle, self.end)

    @property
    def overall(self) -> bool:
        """Whether the deadline now is the whole reply's, not a pause's."""
        return self.at >= self.end


class _ReplyLimit:
    """Counts a streamed reply against its max_tokens: each piece counts as at least one
    token (servers stream a token an event), and the characters as MAX_CHARS_PER_TOKEN.
    `over`: a piece came past the limit (an honest server stops at it and ends the stream)."""

    def __init__(self, max_tokens: int) -> None:
        self.pieces_left = max_tokens
        self.chars_left = max_tokens * MAX_CHARS_PER_TOKEN
        self.over = False

    def take(self, text: str) -> str:
        """What of `text` fits; counts it."""
        if self.pieces_left <= 0 or (text and self.chars_left <= 0):
            self.over = True
            return ""
        self.pieces_left -= 1
        text = text[: self.chars_left]
        self.chars_left -= len(text)
        return text


def _has_tool_call(event: Any) -> bool:
    try:
        return bool(event["choices"][0]["delta"].get("tool_calls"))
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


class RemoteError(ModelError):
    """The server could not be reached or refused the request; the message says which server
    and what to do, and never contains the API key. `transient`: worth trying again later (the
    server is down, busy or slow), as opposed to settings the user must fix (key, model, URL).
    `status`: the HTTP status, 0 when there was none."""

    def __init__(self, message: str, status: int = 0, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


class _ToolCalls:
    """Tool calls as an OpenAI-style server streams them: per call (by index) a name, then
    its arguments as pieces of a JSON string."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, str]] = {}

    def add(self, event: Any, key: str) -> None:
        try:
            parts = event["choices"][0][key].get("tool_calls") or []
        except (KeyError, IndexError, TypeError, AttributeError):
            return
        for n, part in enumerate(parts if isinstance(parts, list) else []):
            if not isinstance(part, dict):
                continue
            index = part.get("index", n)
            call = self.calls.setdefault(index if isinstance(index, int) else n, {})
            function = part.get("function") or {}
            if isinstance(function.get("name"), str):
                call["name"] = call.get("name", "") + function["name"]
            if isinstance(function.get("arguments"), str):
                call["arguments"] = call.get("arguments", "") + function["arguments"]
            elif isinstance(function.get("arguments"), dict):
                call["arguments"] = json.dumps(function["arguments"])

    def as_text(self) -> Iterator[str]:
        for _, call in sorted(self.calls.items()):
            if not call.get("name"):
                continue
            try:
                arguments = json.loads(call.get("arguments") or "{}")
            except ValueError:
                arguments = {}  # the registry then says which argument is missing
            body = json.dumps({"name": call["name"], "arguments": arguments}, ensure_ascii=False)
            yield f"<tool_call>{body}</tool_call>"


def address_problem(url: str) -> str:
    """Why `url` cannot be an LLM server's address ('' when it can), without connecting."""
    try:
        _normalise(url)
    except ModelError as exc:
        return str(exc)
    return ""


def _normalise(url: str) -> tuple[str, str, str, str]:
    """(scheme, host[:port], path of the API root without /v1, display URL) for a base URL.

    Accepts `http://host:8080`, `http://host:8080/v1`, `https://host/some/prefix/v1/`."""
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw  # "localhost:8080" is what people type
    shown = raw.rstrip("/")
    if any(c.isspace() or not c.isprintable() for c in raw):
        # http.client would refuse it later with its own wording (InvalidURL).
        raise ModelError(
            f"The LLM server address {shown!r} contains a space or another invisible "
            "character; type it without, for example http://localhost:8080/v1."
        )
    try:
        parts = urlsplit(raw)
    except ValueError:  # "Invalid IPv6 URL", in the standard library's words
        raise ModelError(
            f"The LLM server address {shown} is not a valid address; check its brackets "
            "(an IPv6 address is written http://[::1]:8080/v1)."
        ) from None
    if parts.scheme not in ("http", "https"):
        raise ModelError(f"The LLM server address {shown} must start with http:// or https://.")
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs and window titles; keep them in the key field.
        raise ModelError(
            "The LLM server address must not contain a user name or password. "
            "Put the API key in the API key setting instead."
        )
    if not parts.hostname:
        raise ModelError(f"The LLM server address {shown} has no host name.")
    if parts.query or parts.fragment:
        raise ModelError(
            f"The LLM server address {shown} should be just the server and path, "
            "without ?… or #…, for example http://localhost:8080/v1."
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port number
    except ValueError:
        raise ModelError(f"The LLM server address {shown} has an invalid port.") from None
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return parts.scheme, parts.netloc, path, shown


def _image_count(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, Mapping) and p.get("type") == "image_url")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_TEXT_LIMIT else text[: ERROR_TEXT_LIMIT - 1] + "…"


def _server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI's {"error": {"message"}}, Ollama's {"error": s},
    FastAPI's {"detail": …}, vLLM's {"message": …}, or the text itself."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return _short(text)
    found: Any = data
    if isinstance(data, dict):
        found = data.get("error") or data.get("detail") or data.get("message") or data
        if isinstance(found, dict):
            found = found.get("message") or found.get("msg") or found
        if isinstance(found, list) and found and isinstance(found[0], dict):
            found = found[0].get("msg") or found[0]  # FastAPI validation errors
    return _short(found if isinstance(found, str) else json.dumps(found))


def _display_name(model_id: str) -> str:
    # llama-cpp-python's server names a model by its file path; show the file name.
    if model_id.startswith("/") or "\\" in model_id:
        name = model_id.replace("\\", "/").rsplit("/", 1)[-1]
        return name[: -len(".gguf")] if name.endswith(".gguf") else name
    return model_id


class RemoteChat:
    """A ChatModel served by an OpenAI-compatible server at `url`.

    `model` may be empty: the first model the server lists is used (llama.cpp and
    llama-cpp-python serve one and accept any name). `vision`: the user says the model sees
    images; user messages may then carry `image_url` parts (data: URIs), sent unchanged.
    `context_size` 0 means ask the server. Timeouts: `connect_timeout` to open the connection,
    `first_token_timeout` from the request to the first streamed event (prompt processing of a
    big model on a long history takes a while), `idle_timeout` between later events, and
    `reply_timeout` (an attribute, llm_remote_deadline) for the whole reply.
    """

    reply_timeout = REPLY_TIMEOUT

    def __init__(
        self,
        url: str,
        model: str = "",
        api_key: str = "",
        vision: bool = False,
        context_size: int = 0,
        connect_timeout: float = 10.0,
        first_token_timeout: float = 120.0,
        idle_timeout: float = 60.0,
    ) -> None:
        self._scheme, self._netloc, self._root, self.url = _normalise(url)
        self.model = model.strip()
        self.__key = api_key.strip()
        self._vision = vision
        self._context_setting = max(0, context_size)
        self._server_context = 0
        self._probed = False
        self.connect_timeout = connect_timeout
        self.first_token_timeout = first_token_timeout
        self.idle_timeout = idle_timeout
        self._idle_conn: http.client.HTTPConnection | None = None  # kept alive between turns
        self.name = self._make_name()

    def __repr__(self) -> str:
        key = "set" if self.__key else "none"
        return f"RemoteChat(url={self.url!r}, model={self.model!r}, api_key={key})"

    def _make_name(self) -> str:
        return f"{_display_name(self.model) if self.model else 'remote model'} @ {self._netloc}"

    # --- what the pipeline asks -------------------------------------------------------------

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
            total += IMAGE_TOKENS * _image_count(content)
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
        self._drop_idle()

    # --- server information -----------------------------------------------------------------

    def probe(self) -> None:
        """Ask the server for its models and context size (/v1/models, then llama.cpp's
        /props). Unreachable or a refused key raise RemoteError; a server that lacks these
        endpoints is fine."""
        try:
            listing = self._get_json(self._root + "/v1/models")
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
                props = self._get_json(self._root + "/props")
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
                if _image_count(content):
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
        path = self._root + "/v1/chat/completions"
        started = time.monotonic()
        conn, resp = self._send("POST", path, body, accept="text/event-stream")
        finished = False
        limit = _ReplyLimit(max(1, max_tokens))
        try:
            self._check_encoding(resp)
            kind = resp.getheader("Content-Type", "") or ""
            if "text/event-stream" not in kind:
                # A server (or proxy) that ignored stream=true: one JSON reply.
                data = self._decode(self._read_all(resp, self.first_token_timeout), path)
                text = limit.take(self._choice_text(data, "message", path))
                calls = _ToolCalls()
                calls.add(data, "message")
                pieces = [text, *calls.as_text()]
                if not any(pieces):
                    raise self._empty_reply()
                yield from (p for p in pieces if p)
                finished = True
                return
            clock = _Deadline(started + self.first_token_timeout, started + self.reply_timeout)
            calls = _ToolCalls()
            said = False
            budget = max(STREAM_BYTES_MIN, max_tokens * STREAM_BYTES_PER_TOKEN)
            for data in self._events(conn, resp, clock, budget):
                clock.progress(self.idle_timeout)
                if data == "[DONE]":
                    finished = True
                    break
                event = self._decode(data.encode("utf-8"), path)
                text = self._choice_text(event, "delta", path)
                calls.add(event, "delta")
                if text or _has_tool_call(event):
                    said = True
                    piece = limit.take(text)
                    if piece:
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
            if finished and self._drained(conn, resp):
                self._keep(conn)
            else:
                self._abort(conn, resp)  # barge-in or error: the server must see us go

    def _check_encoding(self, resp: http.client.HTTPResponse) -> None:
        """Parley asks for no compression; a body compressed anyway (a gzip bomb, or a proxy's
        habit) would be read as garbage, so it is refused with what was sent."""
        encoding = (resp.getheader("Content-Encoding", "") or "").strip().lower()
        if encoding not in ("", "identity"):
            raise RemoteError(
                f"The LLM server at {self.url} sent a compressed reply "
                f"({self._scrub(_short(encoding))}), which Parley did not ask for and does not "
                "read. Turn compression off on the server or the proxy in front of it."
            )

    def _empty_reply(self) -> RemoteError:
        return RemoteError(
            f"The LLM server at {self.url} sent an empty reply (no text and no tool call). "
            "Check that the address is an OpenAI-compatible API and that the model is loaded.",
            transient=True,
        )

    def _events(
        self,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
        clock: _Deadline,
        budget: int,
    ) -> Iterator[str]:
        """The `data` of each Server-Sent Event. Comment lines (`: ping`) are skipped but do
        not count as progress: the timeouts are deadlines, checked between lines. More than
        `budget` bytes in all (comments included) is an error, so memory stays bounded."""
        data: list[str] = []
        read = 0
        while True:
            remaining = clock.at - time.monotonic()
            if remaining <= 0:
                raise self._stream_timeout(clock)
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            try:
                raw = resp.readline(1 << 20)
            except TimeoutError:
                raise self._stream_timeout(clock) from None
            except (http.client.IncompleteRead, ConnectionError, OSError) as exc:
                raise RemoteError(
                    f"The LLM server at {self.url} broke off the reply: {self._reason(exc)}.",
                    transient=True,
                ) from None
            read += len(raw)
            if read > budget:
                raise RemoteError(
                    f"The LLM server at {self.url} sent more than {budget >> 20} MB for one "
                    "reply without ending it, far more than the reply asked for; Parley stopped "
                    "reading.",
                    transient=True,
                )
            if not raw:
                if data:
                    yield "\n".join(data)
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line:  # a blank line ends an event
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "error" and value:  # some servers send `error: {…}` lines
                raise RemoteError(
                    f"The LLM server at {self.url} reported an error: "
                    f"{self._scrub(_server_message(value.encode()))}"
                )

    def _decode(self, data: bytes, path: str) -> Any:
        try:
            event = json.loads(data)
        except ValueError:
            raise RemoteError(
                f"The LLM server at {self.url} sent something that is not an OpenAI-style "
                f"reply on {path}: {self._scrub(_short(data.decode('utf-8', 'replace')))}"
            ) from None
        if isinstance(event, dict) and event.get("error"):
            raise RemoteError(
                f"The LLM server at {self.url} reported an error: "
                f"{self._scrub(_server_message(data))}"
            )
        return event

    def _choice_text(self, event: Any, key: str, path: str) -> str:
        """The text of an OpenAI-style event; one of another shape is an error that shows it
        (a reply of numbers or lists would otherwise pass as an empty answer)."""
        if not isinstance(event, dict):
            raise self._wrong_shape(event, path)
        choices = event.get("choices", [])
        if not isinstance(choices, list):
            raise self._wrong_shape(event, path)
        if not choices:
            return ""  # usage-only chunks
        part = choices[0].get(key) if isinstance(choices[0], dict) else None
        if part is None:
            return ""  # a chunk with only finish_reason
        if not isinstance(part, dict):
            raise self._wrong_shape(event, path)
        text = part.get("content")
        if text is None:
            return ""  # role-only deltas, tool calls
        if not isinstance(text, str):
            raise self._wrong_shape(event, path)
        return text

    def _wrong_shape(self, event: Any, path: str) -> RemoteError:
        shown = json.dumps(event, ensure_ascii=False)
        return RemoteError(
            f"The LLM server at {self.url} sent something that is not an OpenAI-style reply "
            f"on {path}: {self._scrub(_short(shown))}"
        )

    # --- HTTP -------------------------------------------------------------------------------

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._netloc, timeout=self.connect_timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._netloc, timeout=self.connect_timeout)

    def _headers(self, accept: str, has_body: bool) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": f"parley/{__version__}"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        return headers

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        accept: str = "application/json",
        timeout: float | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send a request and return its connection and response (status 2xx), or raise a
        RemoteError saying what went wrong. A kept-alive connection the server has closed
        meanwhile is replaced once, transparently."""
        headers = self._headers(accept, body is not None)
        wait = self.first_token_timeout if timeout is None else timeout
        reused = self._idle_conn
        self._idle_conn = None
        conn = reused or self._new_connection()
        where = f"{self._scheme}://{self._netloc}{path}"
        log.debug("%s %s (%d bytes)", method, where, len(body or b""))
        try:
            try:
                if conn.sock is None:
                    conn.connect()
                conn.sock.settimeout(wait)  # type: ignore[union-attr]
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if reused is None:
                    raise
                conn.close()  # the server closed the idle connection: one fresh try
                conn = self._new_connection()
                conn.connect()
                conn.sock.settimeout(wait)  # type: ignore[union-attr]
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
        except TimeoutError:
            connected = conn.sock is not None
            conn.close()
            if connected:  # connected, then no answer
                raise self._timeout_error(True, wait) from None
            raise self._unreachable(
                f"no answer within {self.connect_timeout:g} s. Is the address right?"
            ) from None
        except ConnectionRefusedError:
            conn.close()
            raise self._unreachable("connection refused. Is it running?") from None
        except socket.gaierror:
            conn.close()
            host = urlsplit(f"//{self._netloc}").hostname
            raise self._unreachable(f"the host name {host} was not found.") from None
        except ssl.SSLError as exc:
            conn.close()
            raise RemoteError(
                f"Could not make a secure connection to the LLM server at {self.url}: "
                f"{self._reason(exc)}."
            ) from None
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            raise self._unreachable(f"{self._reason(exc)}.") from None
        if not 200 <= resp.status < 300:
            try:
                detail = self._scrub(_server_message(self._read_all(resp, wait, 65536)))
            except RemoteError:
                detail = ""
            conn.close()
            raise self._status_error(resp.status, resp.reason, detail, path)
        return conn, resp

    def _get_json(self, path: str) -> Any:
        wait = min(PROBE_TIMEOUT, self.first_token_timeout)
        conn, resp = self._send("GET", path, None, timeout=wait)
        data = self._read_all(resp, wait)
        if self._drained(conn, resp):
            self._keep(conn)
        else:
            conn.close()
        try:
            return json.loads(data)
        except ValueError:
            return None

    def _read_all(
        self, resp: http.client.HTTPResponse, within: float, limit: int = 1 << 24
    ) -> bytes:
        """The whole body (up to `limit` bytes) within `within` seconds: a deadline, not a
        socket timeout, so a body that trickles forever cannot hold the LLM worker."""
        deadline = time.monotonic() + within
        chunks: list[bytes] = []
        size = 0
        try:
            while size < limit:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = resp.read1(min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except TimeoutError:
            raise RemoteError(
                f"The LLM server at {self.url} did not finish its answer within {within:g} s.",
                transient=True,
            ) from None
        except (http.client.HTTPException, OSError) as exc:
            raise RemoteError(
                f"The LLM server at {self.url} broke off the reply: {self._reason(exc)}.",
                transient=True,
            ) from None
        return b"".join(chunks)

    @staticmethod
    def _drained(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> bool:
        """Whether the response is over and the connection can carry the next request."""
        try:
            if conn.sock is not None:
                conn.sock.settimeout(1.0)  # after [DONE] only the chunked trailer is left
            return resp.read(1) == b"" and not resp.will_close
        except (http.client.HTTPException, OSError):
            return False

    def _keep(self, conn: http.client.HTTPConnection) -> None:
        self._drop_idle()
        self._idle_conn = conn

    def _drop_idle(self) -> None:
        conn, self._idle_conn = self._idle_conn, None
        if conn is not None:
            conn.close()

    @staticmethod
    def _abort(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        """Close now, sending FIN at once: the response's buffered reader holds a second
        reference to the socket, which would otherwise keep it open."""
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        resp.close()
        conn.close()

    # --- messages ---------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Server text with the API key blanked out, in case a server echoes the request."""
        return text.replace(self.__key, "[API key]") if self.__key else text

    def _reason(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        return self._scrub(str(reason) or type(exc).__name__)

    def _unreachable(self, why: str) -> RemoteError:
        return RemoteError(f"Could not reach the LLM server at {self.url}: {why}", transient=True)

    def _stream_timeout(self, clock: _Deadline) -> RemoteError:
        if not clock.overall:
            return self._timeout_error(clock.first)
        return RemoteError(
            f"The LLM server at {self.url} was still not done after {self.reply_timeout:g} s, "
            "the longest Parley waits for a reply, so it stopped waiting. The server may be "
            "overloaded; for long replies from a slow server, raise llm_remote_deadline in "
            "settings.json.",
            transient=True,
        )

    def _timeout_error(self, waiting_first: bool, waited: float | None = None) -> RemoteError:
        if waiting_first:
            waited = self.first_token_timeout if waited is None else waited
            return RemoteError(
                f"The LLM server at {self.url} accepted the request but sent no reply within "
                f"{waited:g} s. It may be overloaded or still loading the model.",
                transient=True,
            )
        return RemoteError(
            f"The LLM server at {self.url} stopped in the middle of the reply (nothing for "
            f"{self.idle_timeout:g} s).",
            transient=True,
        )

    def _status_error(self, status: int, reason: str, detail: str, path: str) -> RemoteError:
        said = f"HTTP {status}" + (f": {detail}" if detail else f" {reason}".rstrip())
        if status in (401, 403):
            if self.__key:
                why = f"refused the API key ({said}). Check the key in Settings."
            else:
                why = f"needs an API key ({said}). Enter it in Settings."
        elif status == 404:
            model = f"no model named '{self.model}'" if self.model else "no such model"
            why = (
                f"has {model} or no OpenAI-compatible API at {path} ({said}). Check the model "
                "name and the address (usually the server and port, perhaps ending in /v1)."
            )
        elif status == 429:
            why = f"is busy or rate-limited ({said}). Try again in a moment."
        elif status >= 500:
            why = f"failed ({said})."
        else:
            why = f"rejected the request ({said})."
        transient = status == 429 or status >= 500
        return RemoteError(f"The LLM server at {self.url} {why}", status, transient)
