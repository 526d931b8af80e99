"""Reading an OpenAI-style reply: Server-Sent Events (`data: {json}` lines ended by
`data: [DONE]`) or one JSON body, its text and tool calls, within a deadline and a size limit
(a server that trickles or floods cannot hold the LLM worker or its memory)."""

from __future__ import annotations

import http.client
import json
import time
import unicodedata
from collections.abc import Iterator
from typing import Any

from app.llm.remote.connection import Server
from app.llm.remote.errors import RemoteError, server_message, short

# A reply is cut at max_tokens streamed pieces, or at this many characters a token: a long
# token (a run of spaces in code) stays under it, a server streaming far more than asked does not.
MAX_CHARS_PER_TOKEN = 16
# Bytes of a stream, beyond its text: one event costs a few hundred bytes of JSON a token.
STREAM_BYTES_PER_TOKEN = 4096
STREAM_BYTES_MIN = 8 << 20


class Deadline:
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


class ReplyLimit:
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


def has_tool_call(event: Any) -> bool:
    try:
        return bool(event["choices"][0]["delta"].get("tool_calls"))
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


class ToolCalls:
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


def events(
    server: Server,
    conn: http.client.HTTPConnection,
    resp: http.client.HTTPResponse,
    clock: Deadline,
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
            raise stream_timeout(server, clock)
        if conn.sock is not None:
            conn.sock.settimeout(remaining)
        try:
            raw = resp.readline(1 << 20)
        except TimeoutError:
            raise stream_timeout(server, clock) from None
        except (http.client.IncompleteRead, ConnectionError, OSError) as exc:
            raise RemoteError(
                f"The LLM server at {server.url} broke off the reply: {server.reason(exc)}.",
                transient=True,
            ) from None
        read += len(raw)
        if read > budget:
            raise RemoteError(
                f"The LLM server at {server.url} sent more than {budget >> 20} MB for one "
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
                f"The LLM server at {server.url} reported an error: "
                f"{server.scrub(server_message(value.encode()))}"
            )


def decode(server: Server, data: bytes, path: str) -> Any:
    try:
        event = json.loads(data)
    except ValueError:
        raise RemoteError(
            f"The LLM server at {server.url} sent something that is not an OpenAI-style "
            f"reply on {path}: {server.scrub(short(data.decode('utf-8', 'replace')))}"
        ) from None
    if isinstance(event, dict) and event.get("error"):
        raise RemoteError(
            f"The LLM server at {server.url} reported an error: "
            f"{server.scrub(server_message(data))}"
        )
    return event


def choice_text(server: Server, event: Any, key: str, path: str) -> str:
    """The text of an OpenAI-style event; one of another shape is an error that shows it
    (a reply of numbers or lists would otherwise pass as an empty answer)."""
    if not isinstance(event, dict):
        raise wrong_shape(server, event, path)
    choices = event.get("choices", [])
    if not isinstance(choices, list):
        raise wrong_shape(server, event, path)
    if not choices:
        return ""  # usage-only chunks
    part = choices[0].get(key) if isinstance(choices[0], dict) else None
    if part is None:
        return ""  # a chunk with only finish_reason
    if not isinstance(part, dict):
        raise wrong_shape(server, event, path)
    text = part.get("content")
    if text is None:
        return ""  # role-only deltas, tool calls
    if not isinstance(text, str):
        raise wrong_shape(server, event, path)
    return text


def wrong_shape(server: Server, event: Any, path: str) -> RemoteError:
    shown = json.dumps(event, ensure_ascii=False)
    return RemoteError(
        f"The LLM server at {server.url} sent something that is not an OpenAI-style reply "
        f"on {path}: {server.scrub(short(shown))}"
    )


def stream_timeout(server: Server, clock: Deadline) -> RemoteError:
    if not clock.overall:
        return server.timeout_error(clock.first)
    return RemoteError(
        f"The LLM server at {server.url} was still not done after {server.timeouts.reply:g} s, "
        "the longest Parley waits for a reply, so it stopped waiting. The server may be "
        "overloaded; for long replies from a slow server, raise llm_remote_deadline in "
        "settings.json.",
        transient=True,
    )


def visible(text: str) -> bool:
    """Whether `text` has a character a reader would see: a reply of spaces, line breaks and
    zero-width spaces is empty (it was printed as a blank line and saved as the answer)."""
    return any(not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc") for c in text)
