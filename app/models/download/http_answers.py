"""Reading what a download server answered: redirects that carry the file's hash, byte ranges,
and failures worded so a user can act on them."""

from __future__ import annotations

import re
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from app.models.download.results import DownloadError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def describe_url(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


class Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects and remembers what the first hop said about the file: the Hugging
    Face hub answers a file URL with a redirect to its CDN that carries the file's sha256
    and size (X-Linked-Etag, X-Linked-Size); the CDN's own answer does not."""

    def __init__(self) -> None:
        self.linked_etag: str | None = None
        self.linked_size: str | None = None

    def redirect_request(  # noqa: ANN201
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ):
        self.linked_etag = self.linked_etag or headers.get("X-Linked-Etag")
        self.linked_size = self.linked_size or headers.get("X-Linked-Size")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def server_sha256(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag.strip()
    value = value.removeprefix("W/").strip('"').lower()
    return value if _SHA256.match(value) else None  # a git blob sha1 or a CDN tag is no hash


def network_error(exc: BaseException, url: str, timeout: float) -> DownloadError:
    """One line a user can act on, for anything that went wrong before the body started."""
    host = describe_url(url)
    if isinstance(exc, urllib.error.HTTPError):
        code = exc.code
        if code == 404:
            why = "the file is not there (404): the catalog entry may be out of date"
        elif code in (401, 403):
            why = (
                f"access refused ({code}): the model may need a login or accepting its "
                "licence on the hub"
            )
        elif code == 429:
            why = "too many requests (429): wait a while and try again"
        elif code >= 500:
            why = f"the server failed ({code} {exc.reason}): try again later"
        else:
            why = f"the server answered {code} {exc.reason}"
        return DownloadError(f"Download from {host} failed: {why}. ({url})")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return DownloadError(f"Could not connect to {host}: the connection was refused.")
    if isinstance(reason, socket.gaierror):
        return DownloadError(f"Could not find the server {host}: are you offline?")
    if isinstance(reason, TimeoutError):
        return DownloadError(f"The server {host} did not answer within {timeout:g} s.")
    if isinstance(reason, ssl.SSLError):
        return DownloadError(f"The secure connection to {host} failed: {reason}.")
    if isinstance(reason, OSError):
        return DownloadError(f"Could not connect to {host}: {reason.strerror or reason}.")
    return DownloadError(f"Could not download from {host}: {reason}.")


def content_range(value: str | None) -> tuple[int, int | None]:
    """(first byte, total) of a 'bytes first-last/total' header."""
    m = re.match(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", value or "")
    if not m:
        raise DownloadError(f"The server sent a partial answer without a valid range ({value!r}).")
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), total


def content_range_total(value: str | None) -> int | None:
    m = re.match(r"^\s*bytes\s+\*/(\d+)\s*$", value or "")
    return int(m.group(1)) if m else None
