"""HTTP to one OpenAI-compatible server, with the standard library (http.client): closing a
stream really closes the socket, so the server sees the client go and stops generating. One
connection is kept alive between turns. The API key lives here and goes in an
`Authorization: Bearer …` header and nowhere else; server text is scrubbed of it."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app import __version__
from app.llm.remote.address import normalise
from app.llm.remote.errors import RemoteError, server_message

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 10.0  # seconds for /v1/models and /props: small answers, or none at all
REPLY_TIMEOUT = 300.0  # seconds for a whole reply (llm_remote_deadline in settings.json)


# OpenSSL's codes, in words: what went wrong and what to do.
_TLS_ADVICE = {
    "WRONG_VERSION_NUMBER": "the server answers in plain http, not https; use an http:// address",
    "CERTIFICATE_VERIFY_FAILED": "its certificate is not trusted (self-signed, expired or for "
    "another name); use a certificate this computer trusts, or plain http on your own network",
}


@dataclass(frozen=True)
class Timeouts:
    """`connect` to open the connection; `first_token` from the request to the first streamed
    event (prompt processing of a big model on a long history takes a while); `idle` between
    later events; `reply` for the whole reply (llm_remote_deadline)."""

    connect: float = 10.0
    first_token: float = 120.0
    idle: float = 60.0
    reply: float = REPLY_TIMEOUT


class Server:
    """Requests to the server at `url` (as the user typed it; checked by address.normalise)."""

    def __init__(self, url: str, api_key: str = "", timeouts: Timeouts | None = None) -> None:
        self.scheme, self.netloc, self.root, self.url = normalise(url)
        self.__key = api_key.strip()
        self.timeouts = timeouts or Timeouts()
        self._idle_conn: http.client.HTTPConnection | None = None  # kept alive between turns
        self.model = ""  # the model asked for, named in a 404's message

    @property
    def has_key(self) -> bool:
        return bool(self.__key)

    def new_connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.netloc, timeout=self.timeouts.connect, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.netloc, timeout=self.timeouts.connect)

    def headers(self, accept: str, has_body: bool) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": f"parley/{__version__}"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        return headers

    def send(
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
        headers = self.headers(accept, body is not None)
        wait = self.timeouts.first_token if timeout is None else timeout
        reused = self._idle_conn
        self._idle_conn = None
        conn = reused or self.new_connection()
        where = f"{self.scheme}://{self.netloc}{path}"
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
                conn = self.new_connection()
                conn.connect()
                conn.sock.settimeout(wait)  # type: ignore[union-attr]
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
        except TimeoutError:
            connected = conn.sock is not None
            conn.close()
            if connected:  # connected, then no answer
                raise self.timeout_error(True, wait) from None
            raise self.unreachable(
                f"no answer within {self.timeouts.connect:g} s. Is the address right?"
            ) from None
        except ConnectionRefusedError:
            conn.close()
            raise self.unreachable("connection refused. Is it running?") from None
        except socket.gaierror:
            conn.close()
            host = urlsplit(f"//{self.netloc}").hostname
            raise self.unreachable(f"the host name {host} was not found.") from None
        except ssl.SSLError as exc:
            conn.close()
            reason = self.reason(exc)
            raise RemoteError(
                f"Could not make a secure connection to the LLM server at {self.url}: "
                f"{_TLS_ADVICE.get(reason, reason)}."
            ) from None
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            raise self.unreachable(f"{self.reason(exc)}.") from None
        if not 200 <= resp.status < 300:
            try:
                detail = self.scrub(server_message(self.read_all(resp, wait, 65536)))
            except RemoteError:
                detail = ""
            conn.close()
            raise self.status_error(resp.status, resp.reason, detail, path)
        return conn, resp

    def get_json(self, path: str) -> Any:
        wait = min(PROBE_TIMEOUT, self.timeouts.first_token)
        conn, resp = self.send("GET", path, None, timeout=wait)
        data = self.read_all(resp, wait)
        if self.drained(conn, resp):
            self.keep(conn)
        else:
            conn.close()
        try:
            return json.loads(data)
        except ValueError:
            return None

    def read_all(
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
                f"The LLM server at {self.url} broke off the reply: {self.reason(exc)}.",
                transient=True,
            ) from None
        return b"".join(chunks)

    @staticmethod
    def drained(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> bool:
        """Whether the response is over and the connection can carry the next request."""
        try:
            if conn.sock is not None:
                conn.sock.settimeout(1.0)  # after [DONE] only the chunked trailer is left
            return resp.read(1) == b"" and not resp.will_close
        except (http.client.HTTPException, OSError):
            return False

    def keep(self, conn: http.client.HTTPConnection) -> None:
        self.drop_idle()
        self._idle_conn = conn

    def drop_idle(self) -> None:
        conn, self._idle_conn = self._idle_conn, None
        if conn is not None:
            conn.close()

    @staticmethod
    def abort(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        """Close now, sending FIN at once: the response's buffered reader holds a second
        reference to the socket, which would otherwise keep it open."""
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        resp.close()
        conn.close()

    def scrub(self, text: str) -> str:
        """Server text with the API key blanked out, in case a server echoes the request."""
        return text.replace(self.__key, "[API key]") if self.__key else text

    def reason(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        return self.scrub(str(reason) or type(exc).__name__)

    def unreachable(self, why: str) -> RemoteError:
        return RemoteError(f"Could not reach the LLM server at {self.url}: {why}", transient=True)

    def timeout_error(self, waiting_first: bool, waited: float | None = None) -> RemoteError:
        if waiting_first:
            waited = self.timeouts.first_token if waited is None else waited
            return RemoteError(
                f"The LLM server at {self.url} accepted the request but sent no reply within "
                f"{waited:g} s. It may be overloaded or still loading the model.",
                transient=True,
            )
        return RemoteError(
            f"The LLM server at {self.url} stopped in the middle of the reply (nothing for "
            f"{self.timeouts.idle:g} s).",
            transient=True,
        )

    def status_error(self, status: int, reason: str, detail: str, path: str) -> RemoteError:
        page = re.search(r"<title>\s*([^<]{1,120}?)\s*</title>", detail, re.IGNORECASE)
        if page or detail.lstrip().lower().startswith(("<html", "<!doctype")):
            detail = page[1] if page else ""  # a proxy's HTML page: its title, not its markup
        said = f"HTTP {status}" + (f": {detail}" if detail else f" {reason}".rstrip())
        if status in (401, 403):
            where = "in Settings, or with --llm-key or PARLEY_LLM_API_KEY for `parley ask`"
            if self.__key:
                why = f"refused the API key ({said}). Check the key {where}."
            else:
                why = f"needs an API key ({said}). Give it {where}."
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
