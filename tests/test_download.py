"""Downloading a model file from a real HTTP server on 127.0.0.1 (tests/range_server.py):
what a user sees when the network, the server or the disk misbehaves."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.assemble import is_verified, read_stamp
from app.models.download import (
    DownloadCancelled,
    Downloader,
    DownloadError,
    DownloadProgress,
    DownloadTuning,
    safe_target,
)
from tests.range_server import RangeServer, Resource, model_bytes

SIZE = 3_000_000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


@pytest.fixture
def server() -> Iterator[RangeServer]:
    with RangeServer() as srv:
        yield srv


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "models"


def fast(root: Path, timeout: float = 5, progress=None, **tuning) -> Downloader:
    tuning.setdefault("retry_wait", 0)
    return Downloader(root, timeout=timeout, progress=progress, tuning=DownloadTuning(**tuning))


# --- the normal case --------------------------------------------------------------------------


def test_download_saves_exact_bytes_with_progress_and_no_leftovers(server, data, root):
    server.add("/m.gguf", Resource(data=data))
    seen: list[DownloadProgress] = []
    result = fast(root, progress=seen.append, progress_interval=0, block_size=64 * 1024).download(
        server.url("/m.gguf"), "llm/m/m.gguf", size=SIZE, sha256=sha(data), label="M"
    )

    assert result.path == (root / "llm/m/m.gguf").resolve()
    assert result.path.read_bytes() == data
    assert (result.fetched, result.resumed_from, result.checked_against) == (SIZE, 0, "catalog")
    assert files_under(root) == ["llm/m/m.gguf", "llm/m/m.gguf.verified"]
    assert is_verified(result.path, SIZE, sha(data))  # later starts need not re-hash it

    downloading = [p for p in seen if p.phase == "downloading"]
    assert len(downloading) > 10  # it moved, visibly, block by block
    dones = [p.done for p in downloading]
    assert dones == sorted(dones) and dones[-1] == SIZE
    assert all(p.total == SIZE and p.label == "M" for p in seen)
    assert downloading[-1].rate > 0
    assert seen[-1].phase == "done" and seen[-1].fraction == 1.0


def test_progress_calls_are_throttled(server, data, root):
    """A GUI gets an update per 2% (or per interval), not one per 4 kB block."""
    server.add("/m", Resource(data=data))
    seen: list[DownloadProgress] = []
    fast(root, progress=seen.append, progress_interval=10, block_size=4096).download(
        server.url("/m"), "m", size=SIZE
    )
    steps = [p.done for p in seen if p.phase == "downloading"]
    assert 40 <= len(steps) <= 52, len(steps)  # SIZE / 4096 = 732 blocks
    assert all(b - a >= SIZE // 50 for a, b in zip(steps[1:], steps[2:], strict=False))
    assert seen[-1].phase == "done"


# --- interrupted and resumed ------------------------------------------------------------------


def test_interrupted_download_resumes_fetching_only_the_rest(server, data, root):
    cut = 1_234_567
    server.add("/m", Resource(data=data, drop_at=cut))
    dl = fast(root, retries=0)

    with pytest.raises(DownloadError, match="resume") as err:
        dl.download(server.url("/m"), "m.gguf", size=SIZE, sha256=sha(data))
    assert "1,234,567 of 3,000,000" in str(err.value)
    assert not (root / "m.gguf").exists()  # nothing that looks finished
    assert (root / "m.gguf.part").stat().st_size == cut

    result = dl.download(server.url("/m"), "m.gguf", size=SIZE, sha256=sha(data))

    assert result.path.read_bytes() == data
    assert (result.resumed_from, result.fetched) == (cut, SIZE - cut)
    first, second = server.requests("/m")
    assert first.sent == cut
    assert (second.range, second.status, second.sent) == (f"bytes={cut}-", 206, SIZE - cut)
    assert files_under(root) == ["m.gguf", "m.gguf.verified"]


def test_a_reset_connection_is_resumed_automatically(server, data, root):
    server.add("/m", Resource(data=data, drop_at=2_000_000, reset=True))
    result = fast(root, retries=2).download(server.url("/m"), "m", size=SIZE, sha256=sha(data))
    assert result.path.read_bytes() == data
    assert [(e.status, e.range) for e in server.requests("/m")] == [
        (200, None),
        (206, "bytes=2000000-"),
    ]
    assert sum(e.sent for e in server.requests("/m")) == SIZE  # no byte fetched twice
    assert result.fetched == SIZE


def test_a_server_that_ignores_range_is_downloaded_again_whole(server, data, root):
    res = server.add("/m", Resource(data=data, drop_at=1_000_000))
    dl = fast(root, retries=0)
    with pytest.raises(DownloadError):
        dl.download(server.url("/m"), "m", size=SIZE, sha256=sha(data))
    res.ignore_range = True

    result = dl.download(server.url("/m"), "m", size=SIZE, sha256=sha(data))

    assert result.path.read_bytes() == data  # not 1 MB of prefix + the whole file again
    assert server.requests("/m")[-1].status == 200
    assert (result.resumed_from, result.fetched) == (0, SIZE)


def test_a_file_that_changed_on_the_server_is_not_spliced(server, data, root):
    """Without a pinned hash, If-Range is what stops 'old prefix + new tail'."""
    server.add("/m", Resource(data=data, drop_at=1_000_000))
    dl = fast(root, retries=0)
    with pytest.raises(DownloadError):
        dl.download(server.url("/m"), "m", size=None, sha256=None)
    new = os.urandom(SIZE)
    server.add("/m", Resource(data=new))  # a new upload: a new ETag

    result = dl.download(server.url("/m"), "m", size=None, sha256=None)

    assert result.path.read_bytes() == new
    last = server.requests("/m")[-1]
    assert last.if_range is not None and last.status == 200
    assert read_stamp(result.path)["sha256"] == sha(new)  # recorded for `models verify`


def test_a_complete_part_left_before_the_rename_is_finished_without_downloading(server, data, root):
    server.add("/m", Resource(data=data))
    root.mkdir()
    (root / "m.part").write_bytes(data)  # a run that died after the last byte

    result = fast(root).download(server.url("/m"), "m", size=SIZE, sha256=sha(data))

    assert result.path.read_bytes() == data and result.fetched == 0
    assert [(e.status, e.sent) for e in server.requests("/m")] == [(416, 0)]


def test_a_stall_mid_file_times_out_and_keeps_the_part(server, data, root):
    res = server.add("/m", Resource(data=data, stall_at=500_000))
    dl = fast(root, retries=0, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"stalled \(no data for 0.5 s\).*resume"):
        dl.download(server.url("/m"), "m", size=SIZE, sha256=sha(data))
    assert time.monotonic() - start < 5
    assert (root / "m.part").stat().st_size == 500_000

    res.stall_at = None
    result = dl.download(server.url("/m"), "m", size=SIZE, sha256=sha(data))
    assert result.path.read_bytes() == data and result.fetched == SIZE - 500_000


def test_cancel_from_another_thread_stops_at_once_and_resume_continues(server, data, root):
    """The window's Stop button: cancel() from the GUI thread while the worker waits on a
    silent server; it must not wait out the 30 s timeout."""
    res = server.add("/m", Resource(data=data, stall_at=1_500_000))
    reached = threading.Event()

    def progress(p: DownloadProgress) -> None:
        if p.done >= 1_500_000:
            reached.set()

    dl = Downloader(root, timeout=30, progress=progress, tuning=DownloadTuning(progress_interval=0))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            dl.download(server.url("/m"), "m", size=SIZE, sha256=sha(data))
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert reached.wait(10)
    start = time.monotonic()
    dl.cancel()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - start < 2
    assert len(errors) == 1 and isinstance(errors[0], DownloadCancelled), errors
    assert (root / "m.part").stat().st_size == 1_500_000

    res.stall_at = None
    result = Downloader(root).download(server.url("/m"), "m", size=SIZE, sha256=sha(data))
    assert result.path.read_bytes() == data and result.resumed_from == 1_500_000


# --- wrong bytes ------------------------------------------------------------------------------


def test_a_corrupted_file_is_refused_and_deleted(server, data, root):
    server.add("/m", Resource(data=data, corrupt_at=2_222_222))
    with pytest.raises(DownloadError, match="corrupt.*deleted"):
        fast(root).download(server.url("/m"), "m.gguf", size=SIZE, sha256=sha(data))
    assert files_under(root) == []


def test_hub_style_redirect_hash_catches_corruption_without_a_pinned_hash(server, data, root):
    """The hub redirects a file URL to its CDN with the file's sha256 in X-Linked-Etag."""
    server.add("/good", Resource(data=data, redirect=True, linked_sha256=sha(data)))
    good = fast(root).download(server.url("/good"), "good", size=None, sha256=None)
    assert good.path.read_bytes() == data and good.checked_against == "server"
    assert [e.status for e in server.requests("/good")] == [302, 200]

    server.add("/bad", Resource(data=data, redirect=True, linked_sha256=sha(data), corrupt_at=7))
    with pytest.raises(DownloadError, match="corrupt.*from the server"):
        fast(root).download(server.url("/bad"), "bad", size=None, sha256=None)
    assert files_under(root) == ["good", "good.verified"]


def test_size_different_from_the_catalog_is_refused_before_writing(server, data, root):
    server.add("/m", Resource(data=data))
    with pytest.raises(DownloadError, match="3,000,000 bytes, but the catalog says 2,999,999"):
        fast(root).download(server.url("/m"), "m", size=SIZE - 1, sha256=None)
    assert files_under(root) == []


def test_more_bytes_than_declared_is_refused(server, data, root):
    server.add("/m", Resource(data=data, no_length=True))
    with pytest.raises(DownloadError, match="more than"):
        # The catalog says 1 MB; this server sends no length and 3 MB.
        fast(root).download(server.url("/m"), "m", size=1_000_000, sha256=None)
    assert files_under(root) == []


# --- names that try to leave the models folder ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../evil.gguf", "/tmp/evil.gguf", "llm/../../evil.gguf", "..", "", "a\\..\\evil", "llm/"],
)
def test_names_that_escape_the_models_folder_are_refused(server, data, root, tmp_path, name):
    server.add("/m", Resource(data=data))
    with pytest.raises(DownloadError, match="Refused"):
        fast(root).download(server.url("/m"), name, size=SIZE)
    assert server.log == []  # refused before any network traffic
    assert not (tmp_path / "evil.gguf").exists()
    assert not Path("/tmp/evil.gguf").exists()


def test_a_symlinked_folder_pointing_outside_is_refused(server, data, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "llm").symlink_to(outside)
    server.add("/m", Resource(data=data))
    with pytest.raises(DownloadError, match="leads outside"):
        fast(root).download(server.url("/m"), "llm/m.gguf", size=SIZE)
    assert list(outside.iterdir()) == []


def test_a_planted_part_symlink_is_not_written_through(server, data, root, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    root.mkdir()
    (root / "m.gguf.part").symlink_to(victim)
    server.add("/m", Resource(data=data))
    with pytest.raises(DownloadError, match="symbolic link"):
        fast(root).download(server.url("/m"), "m.gguf", size=SIZE, sha256=sha(data))
    assert victim.read_text() == "precious"


def test_a_target_that_is_a_symlink_is_not_replaced(data, root, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    root.mkdir()
    (root / "m.gguf").symlink_to(victim)
    with pytest.raises(DownloadError, match="symbolic link"):
        safe_target(root, "m.gguf")
    assert victim.read_text() == "precious"


def test_a_models_folder_that_is_itself_a_symlink_is_fine(server, data, tmp_path):
    """Users move big model folders to another disk with a symlink: that must still work."""
    real = tmp_path / "bigdisk"
    real.mkdir()
    (tmp_path / "models").symlink_to(real)
    voice = model_bytes("m.onnx", SIZE)  # unpinned: it must look like the model it names
    server.add("/m", Resource(data=voice))
    result = fast(tmp_path / "models").download(server.url("/m"), "tts/v/m.onnx", size=SIZE)
    assert (real / "tts/v/m.onnx").read_bytes() == voice and result.size == SIZE


# --- a full disk --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (tmpfs), so the kernel itself answers ENOSPC."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    run = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {run.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_disk_that_fills_up_mid_download_is_reported_and_cleaned(server, data, small_disk):
    # No Content-Length and no catalog size: nothing warns in advance, the write fails.
    server.add("/m", Resource(data=data, no_length=True))
    with pytest.raises(DownloadError, match="disk filled up.*partial file was deleted"):
        fast(small_disk / "models").download(server.url("/m"), "llm/m.gguf")
    assert files_under(small_disk) == []  # no .part, no .part.json: the space is free again
    assert shutil.disk_usage(small_disk).used < 64 * 1024


def test_a_download_bigger_than_the_free_space_is_refused_up_front(server, data, small_disk):
    server.add("/m", Resource(data=data))
    with pytest.raises(DownloadError, match=r"Not enough disk space.*3\.0 MB"):
        fast(small_disk / "models").download(server.url("/m"), "llm/m.gguf", size=SIZE)
    assert files_under(small_disk) == []


# --- the network --------------------------------------------------------------------------------


def test_a_refused_connection_says_so(root):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(DownloadError, match=rf"Could not connect to 127.0.0.1:{port}.*refused"):
        fast(root).download(f"http://127.0.0.1:{port}/m", "m")
    assert files_under(root) == []


def test_a_server_that_never_answers_times_out(server, root):
    server.add("/m", Resource(data=b"x", stall_headers=True))
    start = time.monotonic()
    with pytest.raises(DownloadError, match="did not answer within 0.5 s"):
        fast(root, timeout=0.5).download(server.url("/m"), "m")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("status", "message"),
    [(404, "not there"), (403, "access refused"), (503, "server failed")],
)
def test_http_errors_are_worded(server, root, status, message):
    server.add("/m", Resource(data=b"x", status=status))
    with pytest.raises(DownloadError, match=message):
        fast(root).download(server.url("/m"), "m")
    assert files_under(root) == []
