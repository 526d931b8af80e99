"""A real HTTP/1.1 file server on 127.0.0.1 for download tests and benchmarks.

It honours `Range: bytes=N-` / `bytes=N-M` (206 with Content-Range, 416 past the end) and
`If-Range`, sends ETag and Last-Modified, and has knobs for what goes wrong in the wild: a
connection cut or reset mid-file, a flipped byte, a server that ignores Range, a stall, no
Content-Length, an HTTP error, and a hub-style redirect carrying X-Linked-Etag/-Size. Every
request is logged with the bytes actually sent, so a test can prove what a resume fetched.
"""

from __future__ import annotations

import hashlib
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Resource:
    data: bytes | None = None
    file: Path | None = None  # served with sendfile (fast) when no knob touches the bytes
    etag: str | None = None  # default: a hash of the content
    drop_at: int | None = None  # cut the connection when the body reaches this file offset
    drops: int = 1  # how many responses get cut
    reset: bool = False  # cut with a TCP reset instead of a clean close
    corrupt_at: int | None = None  # flip this byte of the file in every response
    ignore_range: bool = False  # always answer 200 with the whole file
    stall_at: int | None = None  # stop sending at this offset until the server stops
    stall_headers: bool = False  # accept the request and never answer
    no_length: bool = False  # no Content-Length: the end of the file is the closed socket
    status: int | None = None  # answer with this HTTP error instead
    linked_sha256: str | None = None  # X-Linked-Etag on the redirect (see `redirect`)
    linked_size: int | None = None
    redirect: bool = False  # GET /p answers 302 -> /cdn/p, like the hub's resolve URLs

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.file is not None
        return self.file.stat().st_size

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        assert self.file is not None
        with self.file.open("rb") as fh:
            fh.seek(start)
            return fh.read(end - start)


@dataclass
class LogEntry:
    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int = 0  # body bytes written to the socket


@dataclass
class _State:
    resources: dict[str, Resource] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output clean

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _log(self, status: int) -> LogEntry:
        entry = LogEntry(self.path, self.headers.get("Range"), self.headers.get("If-Range"), status)
        with self.state.lock:
            self.state.log.append(entry)
        return entry

    def _serve(self, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        cdn = path.startswith("/cdn/")
        res = self.state.resources.get(path[4:] if cdn else path)
        if res is None:
            self._log(404)
            self._empty(404)
            return
        if res.stall_headers:
            self._log(0)
            self.state.stop.wait()
            self.close_connection = True
            return
        if res.status:
            self._log(res.status)
            self._empty(res.status)
            return
        if res.redirect and not cdn:
            self._log(302)
            self.send_response(302)
            self.send_header("Location", "/cdn" + path)
            if res.linked_sha256:
                self.send_header("X-Linked-Etag", f'"{res.linked_sha256}"')
            if res.linked_size is not None:
                self.send_header("X-Linked-Size", str(res.linked_size))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return

        size = res.size
        etag = res.etag or '"' + hashlib.sha1(res.read(0, size)).hexdigest() + '"'
        start, end, status = 0, size, 200
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if wanted and not res.ignore_range and (if_range is None or if_range == etag):
            m = re.match(r"^bytes=(\d+)-(\d*)$", wanted.strip())
            if m:
                first = int(m.group(1))
                last = int(m.group(2)) if m.group(2) else size - 1
                if first >= size:
                    self._log(416)
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end, status = first, min(last, size - 1) + 1, 206
        entry = self._log(status)
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(1_700_000_000, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        if res.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if not head:
            self._body(res, start, end, entry)

    def _body(self, res: Resource, start: int, end: int, entry: LogEntry) -> None:
        stop_at = end
        cut = False
        with self.state.lock:
            if res.drop_at is not None and res.drops > 0 and start <= res.drop_at < end:
                res.drops -= 1
                stop_at, cut = res.drop_at, True
        if res.stall_at is not None and start <= res.stall_at < end:
            stop_at = res.stall_at
        simple = res.file is not None and res.corrupt_at is None
        try:
            if simple and stop_at > start:
                assert res.file is not None
                with res.file.open("rb") as fh:
                    entry.sent = self.connection.sendfile(fh, start, stop_at - start)
            else:
                pos = start
                while pos < stop_at:
                    chunk = bytearray(res.read(pos, min(pos + (1 << 20), stop_at)))
                    if res.corrupt_at is not None and pos <= res.corrupt_at < pos + len(chunk):
                        chunk[res.corrupt_at - pos] ^= 0xFF
                    self.wfile.write(chunk)
                    entry.sent += len(chunk)
                    pos += len(chunk)
        except OSError:
            self.close_connection = True
            return
        if cut:
            if res.reset:  # SO_LINGER 0: close() sends RST, the client sees ECONNRESET
                # An RST throws away what the client has not read yet; give it time to read
                # what was sent, so the test knows exactly where the cut is.
                self.state.stop.wait(0.3)
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.close_connection = True
        elif stop_at < end:
            self.state.stop.wait()
            self.close_connection = True

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class RangeServer:
    """`with RangeServer() as srv: srv.add('/f', Resource(data=...)); srv.url('/f')`."""

    def __init__(self) -> None:
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def add(self, path: str, resource: Resource) -> Resource:
        self.state.resources[path] = resource
        return resource

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def log(self) -> list[LogEntry]:
        with self.state.lock:
            return list(self.state.log)

    def requests(self, path: str) -> list[LogEntry]:
        return [e for e in self.log if e.path in (path, "/cdn" + path)]

    def __enter__(self) -> RangeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.stop.set()  # release stalled handlers
        self.httpd.shutdown()
        self.httpd.server_close()


def hub_path(repo: str, revision: str, path: str) -> str:
    """Where a file of a hub repository is served: the URL path `hf_hub_url` builds."""
    return f"/{repo}/resolve/{revision}/{path}"


def serve_hub_files(
    server: RangeServer, repo: str, revision: str, files: dict[str, bytes], **knobs: object
) -> dict[str, Resource]:
    """Serve `files` ({path in repo: bytes}) as the hub would: big (LFS) files, here those
    over 1 MB, answer with a redirect carrying their sha256 and size; small ones directly.
    `knobs` go to every big file's Resource (e.g. drop_at, corrupt_at)."""
    served = {}
    for path, data in files.items():
        big = len(data) > 1_000_000
        extra: dict[str, object] = dict(knobs) if big else {}
        if big:
            extra.update(
                redirect=True,
                linked_sha256=hashlib.sha256(data).hexdigest(),
                linked_size=len(data),
            )
        served[path] = server.add(hub_path(repo, revision, path), Resource(data=data, **extra))  # type: ignore[arg-type]
    return served


def model_bytes(name: str, size: int) -> bytes:
    """Stand-in content for a model file called `name`: random, but with the first bytes its
    kind has (a GGUF's magic, an ONNX protobuf's first field, valid JSON), since Parley
    refuses a download that is not what its name says."""
    import json
    import os

    if name.endswith(".gguf"):
        return b"GGUF" + os.urandom(size - 4)
    if name.endswith(".onnx"):
        return b"\x08\x07" + os.urandom(size - 2)
    if name.endswith(".json"):
        return json.dumps({"pad": "x" * max(0, size - 11)}).encode()[:size].ljust(size, b" ")
    return os.urandom(size)
