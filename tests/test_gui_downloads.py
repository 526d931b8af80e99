"""The download row in the real (offscreen) window toolkit: progress reaches the widgets on
the GUI thread, the finished model is ready, and Cancel stops a stalled download at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from app.models.catalog import load_catalog
from app.ui.downloads import DownloadRow
from tests.range_server import RangeServer, model_bytes, serve_hub_files


@pytest.fixture
def hub() -> Iterator[RangeServer]:
    with RangeServer() as srv:
        yield srv


def serve_voice(hub: RangeServer, model_id: str, **knobs: object) -> dict[str, bytes]:
    entry = load_catalog().get(model_id)
    files = {
        f.path: model_bytes(f.name, 4_000_000 if i == 0 else 500) for i, f in enumerate(entry.files)
    }
    serve_hub_files(hub, entry.source.repo, entry.source.revision, files, **knobs)  # type: ignore[arg-type]
    return files


class RecordingRow(DownloadRow):
    """The real row, noting on which thread each progress update reached its widgets."""

    def __init__(self, *args, **kw) -> None:
        self.seen: list[tuple[str, str, int]] = []
        super().__init__(*args, **kw)

    def _on_progress(self, p) -> None:
        super()._on_progress(p)
        self.seen.append((threading.current_thread().name, p.label, self.bar.value()))


def test_progress_reaches_the_widgets_on_the_gui_thread(qtbot, hub, tmp_path):
    entry = load_catalog().get("piper-fr_FR-siwis-medium")
    files = serve_voice(hub, entry.id)
    row = RecordingRow(entry, root=tmp_path, endpoint=hub.url(""))
    qtbot.addWidget(row)

    with qtbot.waitSignal(row.done, timeout=30_000) as done:
        row.start()

    assert done.args == [entry.id, True]
    assert {thread for thread, _, _ in row.seen} == {threading.main_thread().name}
    onnx = entry.files[0]
    bar = [v for _, label, v in row.seen if label.endswith(onnx.name) and v >= 0]
    assert bar == sorted(bar) and bar[-1] == 1000
    assert any(0 < v < 1000 for v in bar)  # it moved on the way, not just 0 then done
    assert row.bar.value() == 1000 and row.detail.text().startswith("Ready")
    assert not row.cancel_button.isEnabled()
    assert row.result is not None
    assert row.result.paths[0].read_bytes() == files[onnx.path]


def test_cancel_button_stops_a_stalled_download(qtbot, hub, tmp_path):
    entry = load_catalog().get("piper-es_ES-davefx-medium")
    serve_voice(hub, entry.id, stall_at=1_000_000)
    row = DownloadRow(entry, root=tmp_path, endpoint=hub.url(""))
    qtbot.addWidget(row)
    row.start()
    qtbot.waitUntil(lambda: row.bar.value() > 0, timeout=10_000)

    with qtbot.waitSignal(row.done, timeout=3_000) as done:  # not the 30 s read timeout
        qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)

    assert done.args == [entry.id, False]
    assert "stopped" in row.detail.text() and "resume" in row.detail.text()
    assert list(tmp_path.rglob("*.onnx.part"))  # kept for the next try
