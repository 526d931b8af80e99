"""Download one model file over HTTP(S): resumable, checked, and never half-finished.

The file grows as `<name>.part` next to its target and is renamed into place (os.replace)
only after its size and sha256 match. An interrupted download keeps the `.part` and resumes
with `Range: bytes=N-` (a server that answers 200 instead of 206 simply starts it over;
`If-Range` makes a server whose file changed send it whole). A corrupt file is deleted, a
full disk deletes the `.part`, and every network failure becomes a one-line DownloadError.

Threads: `Downloader.download` blocks; run it on a worker thread. The progress callback is
called on that thread, at most every `progress_interval` seconds (the GUI forwards it with a
Qt signal or `loop.call_soon_threadsafe`); `cancel()` may be called from any thread.

Only the standard library moves bytes (urllib): no new dependency, and proxies set in the
environment (https_proxy, no_proxy) work as they do for pip.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from app import __version__
from app.models.assemble import write_stamp
from app.models.errors import ModelError
from app.models.magic import impostor

_BLOCK = 1 << 20  # big reads: fewer Python-level iterations per byte on a fast link
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DownloadError(ModelError):
    """A download failed; `str(exc)` says why and what to do (one line)."""


class DownloadCancelled(DownloadError):
    """The user stopped the download; the `.part` file is kept so it can resume."""


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    label: str  # what is being downloaded, for display
    done: int  # bytes of the file on disk so far (a resumed download starts above 0)
    total: int | None  # None when neither the catalog nor the server says
    rate: float  # bytes per second over the last few seconds
    phase: str  # "connecting" | "checking" (hashing a resumed part) | "downloading" | "done"
    resumed_from: int = 0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True, slots=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str
    fetched: int  # bytes that came over the network in this call
    resumed_from: int  # bytes already on disk when it started (0: a fresh download)
    checked_against: str  # "catalog" | "server" (X-Linked-Etag) | "nothing" (size only)


def safe_target(root: Path, rel: str) -> Path:
    """`root/rel`, refused unless it stays inside `root` once symlinks are followed.

    `rel` comes from a catalog or a server, so it is untrusted: absolute paths, '..',
    backslashes and folders that are symlinks pointing out of `root` are all refused.
    """
    bad = DownloadError(
        f"Refused to save a model as '{rel}': it is not a plain path inside {root}."
    )
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel or ":" in rel:
        raise bad
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part in ("..", ".", "") for part in p.parts) or rel.endswith("/"):
        raise bad
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve()
    target = real_root.joinpath(*p.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(real_root):
        raise DownloadError(
            f"Refused to save a model as '{rel}': {target.parent} leads outside {root} "
            "(a symbolic link)."
        )
    if target.is_symlink():
        raise DownloadError(f"Refused to replace {target}: it is a symbolic link.")
    return target


def _describe_url(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


class _Redirects(urllib.request.HTTPRedirectHandler):
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


def _server_sha256(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag.strip()
    value = value.removeprefix("W/").strip('"').lower()
    return value if _SHA256.match(value) else None  # a git blob sha1 or a CDN tag is no hash


def _network_error(exc: BaseException, url: str, timeout: float) -> DownloadError:
    """One line a user can act on, for anything that went wrong before the body started."""
    host = _describe_url(url)
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


class _Interrupted(Exception):
    """The body stopped early; the `.part` is good so far and a retry resumes it."""

    def __init__(self, message: str, fetched: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.fetched = fetched


class _Meter:
    """Rate over a sliding window and throttled progress calls."""

    def __init__(
        self, label: str, callback: ProgressCallback | None, interval: float, window: float = 3.0
    ) -> None:
        self.label = label
        self.callback = callback
        self.interval = interval
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()
        self.last_call = 0.0
        self.last_done = 0
        self.resumed_from = 0

    def rate(self, now: float, done: int) -> float:
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        t0, d0 = self.samples[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0

    def report(self, done: int, total: int | None, phase: str, force: bool = False) -> None:
        now = time.monotonic()
        rate = self.rate(now, done) if phase == "downloading" else 0.0
        if self.callback is None:
            return
        # Every `interval` seconds, and every 2% too: with time alone, a burst that ends in a
        # stall would leave the bar showing where the burst began.
        step = total // 50 if total else None
        if not (
            force
            or now - self.last_call >= self.interval
            or (step and done - self.last_done >= step)
        ):
            return
        self.last_call, self.last_done = now, done
        self.callback(DownloadProgress(self.label, done, total, rate, phase, self.resumed_from))


@dataclass(slots=True)
class _Job:
    """One file being downloaded: where it goes and what it must turn out to be."""

    url: str
    target: Path
    size: int | None  # pinned by the catalog
    sha256: str | None  # pinned by the catalog
    meter: _Meter

    @property
    def part(self) -> Path:
        return self.target.with_name(self.target.name + ".part")

    @property
    def meta(self) -> Path:  # the server's validator of the file the .part belongs to
        return self.target.with_name(self.target.name + ".part.json")

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)


class Downloader:
    """Downloads files into `root` (the models folder); one download at a time per object."""

    def __init__(
        self,
        root: Path,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        retry_wait: float = 1.0,
        progress: ProgressCallback | None = None,
        progress_interval: float = 0.1,
        block_size: int = _BLOCK,
    ) -> None:
        self.root = root
        self.timeout = timeout
        self.retries = retries
        self.retry_wait = retry_wait
        self.progress = progress
        self.progress_interval = progress_interval
        self.block_size = block_size
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._response: http.client.HTTPResponse | None = None

    def cancel(self) -> None:
        """Stop the running download now; thread-safe. The `.part` is kept for a resume."""
        self._cancel.set()
        with self._lock:
            response = self._response
        if response is not None:
            # A read blocked on a silent server would otherwise wait out the whole timeout:
            # shutting the socket down wakes it at once (through a dup, so the response
            # object's own descriptor is still closed by its owner).
            with contextlib.suppress(OSError, ValueError):
                sock = socket.socket(fileno=os.dup(response.fileno()))
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.close()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def download(
        self,
        url: str,
        dest: str,
        *,
        size: int | None = None,
        sha256: str | None = None,
        label: str | None = None,
    ) -> DownloadResult:
        """Fetch `url` into `root/dest` and return where it is; see the module docstring.

        `size`/`sha256` are what the catalog pins (None: unknown). Without a pinned sha256
        the server's X-Linked-Etag is used when it is a sha256, else only the size is checked.
        Connection drops and stalls are retried `retries` times, each resuming the `.part`.
        """
        target = safe_target(self.root, dest)
        meter = _Meter(label or target.name, self.progress, self.progress_interval)
        job = _Job(url, target, size, sha256, meter)
        failures = 0
        fetched = 0
        while True:
            if self._cancel.is_set():
                raise DownloadCancelled(f"Download of {target.name} stopped; run again to resume.")
            try:
                result = self._attempt(job)
            except _Interrupted as exc:
                fetched += exc.fetched
                failures += 1
                if failures > self.retries:
                    raise DownloadError(
                        f"{exc.message} Run the download again to resume from where it stopped."
                    ) from None
                self._cancel.wait(self.retry_wait * failures)  # a cancel ends the wait early
                continue
            return DownloadResult(
                result.path,
                result.size,
                result.sha256,
                result.fetched + fetched,
                result.resumed_from,
                result.checked_against,
            )

    # -- one HTTP request ----------------------------------------------------------------

    def _attempt(self, job: _Job) -> DownloadResult:
        part = job.part
        if part.is_symlink():
            raise DownloadError(f"Refused to write through {part}: it is a symbolic link.")
        have = part.stat().st_size if part.exists() else 0
        validator = _read_meta(job.meta, job.url) if have else None
        if job.size is not None and have > job.size:
            have = 0  # longer than the file can be: not a prefix of it
        if have and validator is None and not job.sha256:
            # No record of which file this is a prefix of, and no pinned hash to catch a mix
            # of two versions at the end: only a fresh download is safe.
            have = 0
        job.meter.resumed_from = have
        job.meter.report(have, job.size, "connecting", force=True)

        headers = {
            "User-Agent": f"parley/{__version__}",
            "Accept-Encoding": "identity",  # byte ranges and sizes refer to the raw file
        }
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator:
                headers["If-Range"] = validator  # a changed file comes back whole (200)
        redirects = _Redirects()
        opener = urllib.request.build_opener(redirects)
        try:
            response = opener.open(
                urllib.request.Request(job.url, headers=headers), timeout=self.timeout
            )
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                # Nothing after byte `have`: the .part may already be the whole file (a run
                # that stopped between the last byte and the rename).
                total = _content_range_total(exc.headers.get("Content-Range"))
                exc.close()
                if total == have and (job.size is None or job.size == have):
                    return self._finish_existing(job, have, redirects)
                job.discard()
                raise _Interrupted(f"The server refused to resume {job.target.name}.") from None
            raise _network_error(exc, job.url, self.timeout) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise _network_error(exc, job.url, self.timeout) from None

        with self._lock:
            self._response = response
        try:
            return self._handle(job, response, have, redirects)
        finally:
            with self._lock:
                self._response = None
            response.close()

    def _handle(
        self,
        job: _Job,
        response: http.client.HTTPResponse,
        have: int,
        redirects: _Redirects,
    ) -> DownloadResult:
        host = _describe_url(job.url)
        status = response.status
        if status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                raise DownloadError(
                    f"The server {host} sent a different part of the file than asked for "
                    f"(byte {start}, not {have}); try again later."
                )
        elif status == 200:
            have = 0  # the server ignored the range (or the file changed): start over
            job.meter.resumed_from = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        else:
            raise DownloadError(f"Download from {host} failed: unexpected answer {status}.")
        if total is None and redirects.linked_size and redirects.linked_size.isdigit():
            total = int(redirects.linked_size)
        if job.size is not None and total is not None and total != job.size:
            raise DownloadError(
                f"The server offers {job.target.name} with {total:,} bytes, but the catalog "
                f"says {job.size:,}: refused (the catalog or the server's file changed)."
            )
        expected = job.size if job.size is not None else total
        server_sha = None if job.sha256 else _server_sha256(redirects.linked_etag)
        if expected is not None:
            self._check_space(job.part.parent, expected - have, job.target.name)
        _write_meta(job.meta, job.url, response.headers)
        digest = self._hash_prefix(job, have, expected)
        done, interrupted = self._receive(job, response, have, expected, digest)

        fetched = done - have
        if self._cancel.is_set():  # cancel() cut the socket: not a network failure
            raise DownloadCancelled(
                f"Download of {job.target.name} stopped at {done:,} bytes; run it again to resume."
            )
        if interrupted or (expected is not None and done < expected):
            where = f"{done:,} of {expected:,} bytes" if expected else f"{done:,} bytes"
            why = interrupted or f"The connection was lost while downloading {job.target.name}."
            raise _Interrupted(f"{why} ({where})", fetched)
        if expected is not None and done > expected:
            job.discard()
            raise DownloadError(
                f"The server sent {done:,} bytes for {job.target.name}, more than the "
                f"{expected:,} expected: the file was deleted."
            )
        sha, against = self._accept(job, done, digest.hexdigest(), server_sha)
        job.meter.report(done, done, "done", force=True)
        return DownloadResult(job.target, done, sha, fetched, have, against)

    def _receive(
        self,
        job: _Job,
        response: http.client.HTTPResponse,
        have: int,
        expected: int | None,
        digest: Any,
    ) -> tuple[int, str | None]:
        """Append the body to the `.part`; (bytes now in it, why it stopped early or None)."""
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        flags |= os.O_APPEND if have else os.O_TRUNC
        done = have
        name = job.target.name
        try:
            fd = os.open(job.part, flags, 0o644)
        except OSError as exc:
            raise self._write_error(exc, job) from None
        try:
            # Buffered: its write() stores every byte or raises (a raw write may be partial).
            with open(fd, "wb", closefd=True) as out:
                job.meter.report(done, expected, "downloading", force=True)
                while not self._cancel.is_set():
                    try:
                        # read1: whatever has arrived, up to a block. readinto() would wait to
                        # fill the whole block, and a timeout there loses what it had read.
                        chunk = response.read1(self.block_size)
                    except TimeoutError:  # socket.timeout is TimeoutError since 3.10
                        return (
                            done,
                            f"The download of {name} stalled (no data for {self.timeout:g} s).",
                        )
                    except (OSError, http.client.HTTPException, ValueError):
                        # ValueError: the response was closed under us by cancel().
                        return done, f"The connection was lost while downloading {name}."
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    job.meter.report(done, expected, "downloading")
                out.flush()
                os.fsync(out.fileno())  # durable before it can be renamed into place
        except OSError as exc:
            raise self._write_error(exc, job) from None
        return done, None

    # -- helpers ---------------------------------------------------------------------------

    def _finish_existing(self, job: _Job, have: int, redirects: _Redirects) -> DownloadResult:
        digest = self._hash_prefix(job, have, have)
        server_sha = None if job.sha256 else _server_sha256(redirects.linked_etag)
        sha, against = self._accept(job, have, digest.hexdigest(), server_sha)
        job.meter.report(have, have, "done", force=True)
        return DownloadResult(job.target, have, sha, 0, have, against)

    def _accept(self, job: _Job, size: int, actual: str, server_sha: str | None) -> tuple[str, str]:
        """Move a complete, matching `.part` into place; delete it if the hash is wrong."""
        want, against = (job.sha256, "catalog") if job.sha256 else (server_sha, "server")
        if want and actual != want:
            job.discard()
            raise DownloadError(
                f"{job.target.name} arrived corrupt (sha256 {actual[:12]}… instead of "
                f"{want[:12]}… from the {against}): it was deleted. Try again; if it happens "
                "again, the server's file differs from the catalog."
            )
        # A pinned hash proves the file; without one, a captive portal's page would pass.
        wrong = None if job.sha256 else impostor(job.part, job.target.name)
        if wrong:
            job.discard()
            raise DownloadError(
                f"{job.target.name} was refused and deleted: {wrong}. Check your network "
                "(sign in to it if it asks), then pull again."
            )
        os.replace(job.part, job.target)
        job.meta.unlink(missing_ok=True)
        write_stamp(job.target, actual)  # so `parley models verify` can spot later damage
        return actual, against if want else "nothing"

    def _hash_prefix(self, job: _Job, have: int, total: int | None) -> Any:
        """sha256 state after the first `have` bytes of the `.part` (a resume continues it)."""
        digest = hashlib.sha256()
        done = 0
        if have:
            with job.part.open("rb") as fh:
                while done < have and (block := fh.read(min(4 * _BLOCK, have - done))):
                    digest.update(block)
                    done += len(block)
                    job.meter.report(done, total, "checking")
        return digest

    def _check_space(self, folder: Path, need: int, name: str) -> None:
        free = shutil.disk_usage(folder).free
        if need > free:
            raise DownloadError(
                f"Not enough disk space for {name}: it needs {_human(need)} more but only "
                f"{_human(free)} is free in {folder}. Free some space and try again."
            )

    def _write_error(self, exc: OSError, job: _Job) -> DownloadError:
        if exc.errno in _NO_SPACE:
            job.discard()  # a half file is useless and holds the space the user needs
            return DownloadError(
                f"The disk filled up while downloading {job.target.name} into "
                f"{job.target.parent}: the partial file was deleted. Free some space and try "
                "again."
            )
        if exc.errno == errno.ELOOP:
            return DownloadError(f"Refused to write through {job.part}: it is a symbolic link.")
        return DownloadError(f"Could not write {job.part}: {exc.strerror or exc}.")


def _content_range(value: str | None) -> tuple[int, int | None]:
    """(first byte, total) of a 'bytes first-last/total' header."""
    m = re.match(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", value or "")
    if not m:
        raise DownloadError(f"The server sent a partial answer without a valid range ({value!r}).")
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), total


def _content_range_total(value: str | None) -> int | None:
    m = re.match(r"^\s*bytes\s+\*/(\d+)\s*$", value or "")
    return int(m.group(1)) if m else None


def _read_meta(meta: Path, url: str) -> str | None:
    """The validator (ETag or Last-Modified) of the file the `.part` is a prefix of."""
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("url") != url:
        return None
    value = data.get("validator")
    return value if isinstance(value, str) and value else None


def _write_meta(meta: Path, url: str, headers: Any) -> None:
    etag = headers.get("ETag")
    validator = etag if etag and not etag.startswith("W/") else headers.get("Last-Modified")
    with contextlib.suppress(OSError):  # without it the next run starts over; no harm
        meta.write_text(json.dumps({"url": url, "validator": validator or ""}), encoding="utf-8")


def _human(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def hub_url(repo: str, revision: str, path: str, endpoint: str | None = None) -> str:
    """The download URL of a file on the Hugging Face hub (or a mirror: HF_ENDPOINT)."""
    from huggingface_hub import hf_hub_url  # only to spell the URL; it downloads nothing here

    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None
    return hf_hub_url(repo, path, revision=revision, endpoint=endpoint)
