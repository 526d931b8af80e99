"""Downloading a catalog model from the model panel (offscreen, the real window): the job runs
on its worker thread while the panel shows progress, "Installed" when done, and loads the
model on request; Cancel stops a stalled download and keeps a `.part` the next try resumes;
a corrupt file or a refused connection is a message in the panel. The hub is a real HTTP
server on 127.0.0.1 (tests/range_server.py) reached through HF_ENDPOINT."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.models.catalog import load_catalog
from app.models.download import DownloadProgress
from tests import tiny_vlm
from tests.range_server import RangeServer, Resource, hub_path

pytestmark = [pytest.mark.models, pytest.mark.timeout(240)]

REPO, REV = "test/tiny", "main"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RangeServer]:
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    with RangeServer() as srv:
        monkeypatch.setenv("HF_ENDPOINT", srv.url(""))
        yield srv


def _entry(model_id: str, data: bytes) -> dict:
    return {
        "id": model_id,
        "role": "llm",
        "name": f"Test model {model_id}",
        "source": {"type": "hub", "repo": REPO, "revision": REV},
        "files": [
            {
                "name": f"{model_id}.gguf",
                "path": f"{model_id}.gguf",
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "setting": "llm_model",
            }
        ],
        "verify": "sha256",
        "licence": "MIT",
        "memory_mb": 50,
        "languages": ["en"],
        "checked": "made by the test",
    }


def _catalog(tmp_path: Path, files: dict[str, bytes]):
    path = tmp_path / "catalog.json"
    doc = {"schema": 1, "models": [_entry(k, v) for k, v in files.items()]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_catalog(path)


def _serve(hub: RangeServer, model_id: str, data: bytes, **knobs: object) -> Resource:
    return hub.add(hub_path(REPO, REV, f"{model_id}.gguf"), Resource(data=data, **knobs))  # type: ignore[arg-type]


def _open_panel(gui, qtbot, catalog):
    qtbot.mouseClick(gui.models_button, Qt.MouseButton.LeftButton)
    panel = gui.model_panel
    assert panel is not None and panel.isVisible()
    panel.set_catalog(catalog)
    return panel


def _target(model_id: str) -> Path:
    return Path(os.environ["PARLEY_DATA_DIR"]) / "models" / "llm" / model_id / f"{model_id}.gguf"


def test_download_from_the_panel_then_use_it(gui, qtbot, tmp_path, hub):
    data = tiny_vlm.write_llm(tmp_path / "tiny.gguf").read_bytes()
    catalog = _catalog(tmp_path, {"tiny-llm": data})
    _serve(hub, "tiny-llm", data)
    gui.session.settings.llm_threads = 1
    panel = _open_panel(gui, qtbot, catalog)
    assert panel.downloads.catalog_list.count() == 1
    listed = panel.downloads.catalog_list.item(0).text()
    for part in ("Test model tiny-llm", "language models", "MIT", "RAM ~50 MB", "not installed"):
        assert part in listed
    assert not panel.downloads.use_button.isVisible()

    panel.select_entry("tiny-llm")
    seen: list[tuple[DownloadProgress, str]] = []
    qtbot.mouseClick(panel.downloads.download_button, Qt.MouseButton.LeftButton)
    row = panel.downloads.download_row
    assert row is not None and row.isVisible() and row.job is not None
    row._relay.progress.connect(lambda p: seen.append((p, threading.current_thread().name)))
    assert not panel.downloads.download_button.isEnabled()  # one download at a time

    qtbot.waitUntil(lambda: "Installed" in panel.downloads.download_status.text(), timeout=30_000)
    assert row.bar.value() == row.bar.maximum() == 1000  # 100 %
    assert row.error is None and row.result is not None
    assert not row.cancel_button.isEnabled()
    assert row.job._thread.name == "pull-tiny-llm"  # the download ran on its worker
    assert seen and all(t == "MainThread" for _, t in seen)  # widgets updated on the GUI thread
    assert any(p.done == len(data) for p, _ in seen)
    target = _target("tiny-llm")
    assert target.read_bytes() == data
    assert not list(target.parent.glob("*.part"))
    assert "installed" in panel.downloads.catalog_list.item(0).text().split("·")[-1]
    assert panel.downloads.download_button.isEnabled()

    # "Use this model" loads it on the LLM worker, as choosing the file would.
    assert panel.downloads.use_button.isVisible() and panel.downloads.use_button.isEnabled()
    qtbot.mouseClick(panel.downloads.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: getattr(gui.session.engines.llm, "model_path", None) == target, timeout=60_000
    )
    qtbot.waitUntil(lambda: "Loaded tiny-llm.gguf" in panel.message.text(), timeout=10_000)
    assert gui.session.settings.llm_model == str(target)


def test_cancel_stops_a_stalled_download_and_the_next_one_resumes(gui, qtbot, tmp_path, hub):
    data = os.urandom(3_000_000)
    catalog = _catalog(tmp_path, {"slow-llm": data})
    resource = _serve(hub, "slow-llm", data, stall_at=1_000_000)
    panel = _open_panel(gui, qtbot, catalog)
    panel.select_entry("slow-llm")
    qtbot.mouseClick(panel.downloads.download_button, Qt.MouseButton.LeftButton)
    row = panel.downloads.download_row
    assert row is not None
    qtbot.waitUntil(lambda: row.bar.value() >= 300, timeout=20_000)  # 1 MB of 3 arrived
    assert row.bar.value() < 1000 and "MB" in row.detail.text()
    assert panel.downloads.download_status.text().startswith("Downloading")

    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "stopped" in panel.downloads.download_status.text(), timeout=5_000)
    assert "resume" in panel.downloads.download_status.text()
    assert row.job is not None and row.job.wait(5)
    assert not panel.downloads.use_button.isVisible()
    target = _target("slow-llm")
    part = target.with_name(target.name + ".part")
    assert not target.exists() and part.stat().st_size == 1_000_000
    assert "partial" in panel.downloads.catalog_list.item(0).text()

    # Downloading again asks only for the rest.
    resource.stall_at = None
    panel.select_entry("slow-llm")
    qtbot.mouseClick(panel.downloads.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Installed" in panel.downloads.download_status.text(), timeout=30_000)
    assert target.read_bytes() == data and not part.exists()
    ranges = [e.range for e in hub.requests(hub_path(REPO, REV, "slow-llm.gguf"))]
    assert ranges[-1] == "bytes=1000000-"


def test_a_corrupt_file_and_a_refused_connection_are_messages(
    gui, qtbot, tmp_path, hub, monkeypatch
):
    data = os.urandom(200_000)
    catalog = _catalog(tmp_path, {"bad-llm": data})
    _serve(hub, "bad-llm", data, corrupt_at=1234)
    panel = _open_panel(gui, qtbot, catalog)
    panel.select_entry("bad-llm")
    qtbot.mouseClick(panel.downloads.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: "Could not download" in panel.downloads.download_status.text(), timeout=30_000
    )
    assert "sha256" in panel.downloads.download_status.text()
    assert not _target("bad-llm").exists() and not panel.downloads.use_button.isVisible()

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed}")
    panel.select_entry("bad-llm")
    qtbot.mouseClick(panel.downloads.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            "Could not download" in panel.downloads.download_status.text()
            and "sha256" not in panel.downloads.download_status.text()
        ),
        timeout=60_000,
    )
    assert "connection was refused" in panel.downloads.download_status.text()
    assert panel.downloads.download_button.isEnabled()
    assert gui.session.engines.llm is not None  # the model in use is untouched
