"""Servers on loopback for the remote-LLM tests: the real llama-cpp-python server on the default
model, a scripted OpenAI-style server that records what it is sent, and sockets that accept
a connection and then hang."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.realtools import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (so connecting is refused at once)."""
    return free_port()


class LlamaServer:
    """`python -m app.llm.serve` (llama-cpp-python's OpenAI server with the AMX workaround) on
    a free loopback port, the machine's cores (up to 4), a 2048-token context.
    `interrupt_requests` is off so that only a client going away can stop a generation: what
    the barge-in test checks."""

    def __init__(self, model: Path, log_path: Path, api_key: str = "", threads: int = 0) -> None:
        threads = threads or min(os.cpu_count() or 1, 4)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        self.log_path = log_path
        cmd = [
            sys.executable,
            "-m",
            "app.llm.serve",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--n_ctx",
            "2048",
            "--interrupt_requests",
            "False",
        ]
        if api_key:
            cmd += ["--api_key", api_key]
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(
            f"{self.url}/v1/models", headers={"Authorization": f"Bearer {self.api_key}"}
        )
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the llama server exited ({self.proc.returncode}):\n{self.log()}"
                )
            try:
                with urllib.request.urlopen(request, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the llama server did not start in {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Script:
    """What the scripted server answers to chat requests."""

    pieces: list[str] = field(default_factory=lambda: ["Hello", " there", "."])
    status: int = 200
    error_body: bytes = b""
    stream: bool = True  # False: one JSON reply, as a server that ignores stream=true would
    mid_stream_error: str = ""  # sent as a `data: {"error": …}` event after the first piece
    models: Any = field(
        default_factory=lambda: {"object": "list", "data": [{"id": "big-model-70b"}]}
    )
    props: Any = None  # llama.cpp's /props answer; None: 404
    drop_idle: bool = False  # close each connection after a JSON answer, without saying so
    # Tool calls (name, arguments as JSON text) the first reply makes, streamed as OpenAI's
    # API does (the arguments in pieces); `after_tools` answers a request carrying results.
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    after_tools: list[str] = field(default_factory=lambda: ["Done."])
    words_before_calls: bool = False  # the calling reply first streams `pieces`
    echo: str = ""  # the reply is this followed by the last message's text (then `pieces`)
    delay: float = 0.0  # seconds before a chat reply begins (a model reading its prompt)
    # Seconds between pieces of a reply (not of a max_tokens=1 start-up check): a server
    # that trickles, never idle long enough to time out.
    trickle: float = 0.0


class ScriptedServer:
    """An OpenAI-style server on loopback that records every request and answers from a
    Script. `echo_auth` puts the Authorization header into error bodies (a careless proxy)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.script = Script()
        self.echo_auth = False
        self.connections_closed = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _record(self, body: Any) -> Recorded:
                rec = Recorded(self.command, self.path, dict(self.headers.items()), body)
                owner.requests.append(rec)
                return rec

            def _json(self, status: int, data: Any) -> None:
                payload = data if isinstance(data, bytes) else json.dumps(data).encode()
                if owner.script.drop_idle:  # as servers do with idle keep-alive connections
                    self.close_connection = True
                    # Counted before the answer goes out: the client may act on it at once.
                    owner.connections_closed += 1
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._record(None)
                s = owner.script
                if self.path == "/v1/models" and s.models is not None:
                    self._json(200, s.models)
                elif self.path == "/props" and s.props is not None:
                    self._json(200, s.props)
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                rec = self._record(body)
                s = owner.script
                if s.status != 200:
                    payload = s.error_body
                    if owner.echo_auth:
                        auth = rec.headers.get("Authorization", "")
                        payload = json.dumps({"error": {"message": f"bad header {auth}"}}).encode()
                    self._json(s.status, payload)
                    return
                last = ((body or {}).get("messages") or [{}])[-1].get("content") or ""
                answered = isinstance(last, str) and last.startswith("<tool_response>")
                calling = bool(s.tool_calls) and not answered
                quiet = calling and not s.words_before_calls
                pieces = s.after_tools if answered else ([] if quiet else s.pieces)
                if s.echo:
                    pieces = [s.echo, str(last), *pieces]
                time.sleep(s.delay)
                if not s.stream:
                    message = {"role": "assistant", "content": "".join(pieces)}
                    self._json(200, {"choices": [{"index": 0, "message": message}]})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

                def event(data: Any) -> None:
                    text = data if isinstance(data, str) else json.dumps(data)
                    self.wfile.write(f"data: {text}\n\n".encode())
                    self.wfile.flush()

                event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                self.wfile.write(b": ping - comments are skipped\n\n")
                if s.trickle and (body or {}).get("max_tokens") == 1:
                    pieces = pieces[:1]
                for i, piece in enumerate(pieces):
                    if i and s.trickle:
                        time.sleep(s.trickle)
                    event({"choices": [{"index": 0, "delta": {"content": piece}}]})
                    if i == 0 and s.mid_stream_error:
                        event({"error": {"message": s.mid_stream_error}})
                        return
                for n, (name, arguments) in enumerate(s.tool_calls if calling else []):
                    head = {"index": n, "id": f"call_{n}", "type": "function",
                            "function": {"name": name, "arguments": ""}}  # fmt: skip
                    event({"choices": [{"index": 0, "delta": {"tool_calls": [head]}}]})
                    for k in range(0, len(arguments), 7):
                        part = {"index": n, "function": {"arguments": arguments[k : k + 7]}}
                        event({"choices": [{"index": 0, "delta": {"tool_calls": [part]}}]})
                finish = "tool_calls" if calling else "stop"
                event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                event("[DONE]")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def chats(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HangingServer:
    """Accepts connections and then: "silent" never answers; "pings" sends SSE headers and a
    comment every 0.1 s but no event; "stalls" sends one event and then only pings."""

    def __init__(self, kind: str = "silent") -> None:
        self.kind = kind
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.clients: list[socket.socket] = []
        self.accepted = threading.Event()
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(conn)
            self.accepted.set()
            if self.kind != "silent":
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)  # the request (small enough for one read here)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            )
            if self.kind == "stalls":
                delta = {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
                conn.sendall(f"data: {json.dumps(delta)}\n\n".encode())
            while not self._stop.wait(0.1):
                conn.sendall(b": ping\n\n")
        except OSError:
            pass

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
        for c in self.clients:
            c.close()


def env_without_key() -> dict[str, str]:
    env = os.environ.copy()
    env.pop("PARLEY_LLM_API_KEY", None)
    return env
