"""`Downloader`: one model file over HTTP(S), resumed, retried, checked and moved into place.

The moving parts it uses live beside it: `part_file` (where the bytes go), `http_answers`
(what the server said), `meter` (speed and throttled progress), `results` (what it returns).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import __version__
from app.models.assemble import write_stamp
from app.models.download.http_answers import (
    Redirects,
    content_range,
    content_range_total,
    describe_url,
    network_error,
    server_sha256,
)
from app.models.download.meter import Meter
from app.models.download.part_file import Job, read_meta, safe_target, write_meta
from app.models.download.results import (
    DownloadCancelled,
    DownloadError,
    DownloadResult,
    ProgressCallback,
)
from app.models.magic import impostor

_BLOCK = 1 << 20  # big reads: fewer Python-level iterations per byte on a fast link
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True, slots=True)
class DownloadTuning:
    """How hard a download tries and how often it reports. The defaults suit a real network;
    tests and benchmarks turn them down."""

    retries: int = 3  # connection drops and stalls retried, each resuming the `.part`
    retry_wait: float = 1.0  # seconds before the first retry; the n-th waits n times this
    progress_interval: float = 0.1  # seconds between progress calls (and every 2% as well)
    block_size: int = _BLOCK  # the most bytes one read takes


DEFAULT_TUNING = DownloadTuning()


class _Interrupted(Exception):
    """The body stopped early; the `.part` is good so far and a retry resumes it."""

    def __init__(self, message: str, fetched: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.fetched = fetched


class Downloader:
    """Downloads files into `root` (the models folder); one download at a time per object."""

    def __init__(
        self,
        root: Path,
        *,
        timeout: float = 30.0,
        progress: ProgressCallback | None = None,
        tuning: DownloadTuning = DEFAULT_TUNING,
    ) -> None:
        self.root = root
        self.timeout = timeout  # seconds a connection or a silent server is waited for
        self.progress = progress
        self.tuning = tuning
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
        """Fetch `url` into `root/dest` and return where it is; see the package docstring.

        `size`/`sha256` are what the catalog pins (None: unknown). Without a pinned sha256
        the server's X-Linked-Etag is used when it is a sha256, else only the size is checked.
        Connection drops and stalls are retried `tuning.retries` times, each resuming the `.part`.
        """
        target = safe_target(self.root, dest)
        meter = Meter(label or target.name, self.progress, self.tuning.progress_interval)
        job = Job(url, target, size, sha256, meter)
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
                if failures > self.tuning.retries:
                    raise DownloadError(
                        f"{exc.message} Run the download again to resume from where it stopped."
                    ) from None
                self._cancel.wait(self.tuning.retry_wait * failures)  # a cancel ends the wait early
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

    def _attempt(self, job: Job) -> DownloadResult:
        part = job.part
        if part.is_symlink():
            raise DownloadError(f"Refused to write through {part}: it is a symbolic link.")
        have = part.stat().st_size if part.exists() else 0
        validator = read_meta(job.meta, job.url) if have else None
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
        redirects = Redirects()
        opener = urllib.request.build_opener(redirects)
        try:
            response = opener.open(
                urllib.request.Request(job.url, headers=headers), timeout=self.timeout
            )
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                # Nothing after byte `have`: the .part may already be the whole file (a run
                # that stopped between the last byte and the rename).
                total = content_range_total(exc.headers.get("Content-Range"))
                exc.close()
                if total == have and (job.size is None or job.size == have):
                    return self._finish_existing(job, have, redirects)
                job.discard()
                raise _Interrupted(f"The server refused to resume {job.target.name}.") from None
            raise network_error(exc, job.url, self.timeout) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise network_error(exc, job.url, self.timeout) from None

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
        job: Job,
        response: http.client.HTTPResponse,
        have: int,
        redirects: Redirects,
    ) -> DownloadResult:
        host = describe_url(job.url)
        status = response.status
        if status == 206:
            start, total = content_range(response.headers.get("Content-Range"))
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
        server_sha = None if job.sha256 else server_sha256(redirects.linked_etag)
        if expected is not None:
            self._check_space(job.part.parent, expected - have, job.target.name)
        write_meta(job.meta, job.url, response.headers)
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
        job: Job,
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
                        chunk = response.read1(self.tuning.block_size)
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

    def _finish_existing(self, job: Job, have: int, redirects: Redirects) -> DownloadResult:
        digest = self._hash_prefix(job, have, have)
        server_sha = None if job.sha256 else server_sha256(redirects.linked_etag)
        sha, against = self._accept(job, have, digest.hexdigest(), server_sha)
        job.meter.report(have, have, "done", force=True)
        return DownloadResult(job.target, have, sha, 0, have, against)

    def _accept(self, job: Job, size: int, actual: str, server_sha: str | None) -> tuple[str, str]:
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

    def _hash_prefix(self, job: Job, have: int, total: int | None) -> Any:
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

    def _write_error(self, exc: OSError, job: Job) -> DownloadError:
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


def _human(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
