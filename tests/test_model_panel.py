"""The model panel in the real window (offscreen): loading another local GGUF while Parley
runs, on the LLM worker, and refusing files that cannot work while the model in use keeps
answering. The tiny vision model the tests build (tests/tiny_vlm.py) is the model loaded."""

from __future__ import annotations

import threading
from pathlib import Path

import gguf
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.bus.events import EngineStatus
from app.config import Settings
from tests import tiny_vlm
from tests.realtools import ask_typed

pytestmark = [pytest.mark.models, pytest.mark.timeout(240)]


class Counting:
    """Counts the replies a model streams, keeping everything else as it is."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.replies = 0
        original = engine.stream_chat

        def stream_chat(*args, **kwargs):
            self.replies += 1
            return original(*args, **kwargs)

        engine.stream_chat = stream_chat


def _drop(window, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def _unloadable_gguf(path: Path) -> Path:
    """A complete, well-formed GGUF of an architecture llama.cpp does not know."""
    w = gguf.GGUFWriter(str(path), "nosucharch")
    w.add_name("no-such-arch")
    w.add_tensor("token_embd.weight", np.zeros((8, 4), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_load_a_gguf_from_the_panel_then_refuse_what_cannot_work(gui, qtbot, tmp_path, monkeypatch):
    model, mmproj = tiny_vlm.build_tiny_vlm(tmp_path / "vlm")
    wrong = tiny_vlm.write_mismatched_mmproj(tmp_path / "vlm" / "mmproj-96.gguf")
    broken = _unloadable_gguf(tmp_path / "vlm" / "unknown-arch.gguf")
    # The projector's child-process probe remembers files in the data dir: keep it here.
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    settings = gui.session.settings
    settings.llm_threads = 1  # a tiny model: one thread (see DESIGN.md, 2 cores)
    settings.llm_max_tokens = 12
    settings.speak_replies = False
    engines = gui.session.engines
    default_llm = engines.llm
    load_threads: list[str] = []
    factory = engines.llm_factory

    def recording_factory(s, progress):
        load_threads.append(threading.current_thread().name)
        return factory(s, progress)

    engines.llm_factory = recording_factory
    statuses: list[tuple[str, str]] = []
    gui.bus.subscribe(
        EngineStatus, lambda e: e.engine == "llm" and statuses.append((e.state, e.detail))
    )

    # The toolbar button opens the panel, which describes the model in use.
    qtbot.mouseClick(gui.models_button, Qt.MouseButton.LeftButton)
    panel = gui.model_panel
    assert panel is not None and panel.isVisible()
    qtbot.waitUntil(lambda: "Q4_K_M" in panel.llm_info.text(), timeout=10_000)
    assert "qwen2" in panel.llm_info.text() and "32,768" in panel.llm_info.text()
    assert "tiny.en" in panel.stt_info.text()
    assert "en_US-joe-medium" in panel.tts_info.text()

    # What "Load model…" does once a file is chosen.
    task = panel.load_files([model])
    assert not task.done()  # the window is not waiting for the load
    qtbot.waitUntil(task.done, timeout=60_000)
    assert task.result() is True, panel.message.text()
    assert [s for s, _ in statuses] == ["loading", "ready"]
    assert load_threads == ["parley-llm_0"]  # the LLM worker, never the GUI thread
    tiny = engines.llm
    assert tiny is not default_llm and tiny.model_path == model and not tiny.supports_vision
    assert gui.status.states["llm"] == "ready"
    assert "Loaded tiny-llava.gguf" in panel.message.text()
    qtbot.waitUntil(lambda: "tiny-llava-test" in panel.llm_info.text(), timeout=10_000)
    assert Settings.load().llm_model == str(model)  # the next start loads it too
    counting = Counting(tiny)
    first = ask_typed(gui, qtbot, "Hello there")
    assert not first.interrupted and counting.replies == 1  # answered by the tiny model
    assert not [b for b in gui.chat.bubbles if b.role == "error"]

    # A projector made for a 96-wide model is refused before anything loads.
    statuses.clear()
    task = panel.load_files([wrong])
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is False
    message = panel.message.text()
    assert "mmproj-96.gguf does not belong to the language model tiny-llava.gguf" in message
    assert "64 wide" in message and "96" in message
    assert statuses == [] and engines.llm is tiny
    second = ask_typed(gui, qtbot, "Still there?")
    assert not second.interrupted and counting.replies == 2  # the old model keeps working

    # A file llama.cpp cannot load: the error is shown, the old model stays in use.
    task = panel.load_files([broken])
    qtbot.waitUntil(task.done, timeout=60_000)
    assert task.result() is False
    assert [s for s, _ in statuses] == ["loading", "error", "ready"]
    assert "could not load unknown-arch.gguf" in statuses[1][1]
    assert "Still using" in panel.message.text()
    errors = [b.text for b in gui.chat.bubbles if b.role == "error"]
    assert any("unknown-arch.gguf" in e for e in errors)
    assert engines.llm is tiny and gui.status.states["llm"] == "ready"
    assert Settings.load().llm_model == str(model)  # not the broken file
    third = ask_typed(gui, qtbot, "And now?")
    assert not third.interrupted and counting.replies == 3

    # Dropping the matching projector on the window pairs it with the loaded model.
    _drop(gui, [mmproj])
    qtbot.waitUntil(lambda: getattr(engines.llm, "mmproj_path", None) == mmproj, timeout=120_000)
    assert engines.llm.model_path == model and engines.llm.supports_vision
    assert gui.session.turns.attachments == []  # not taken for an image
    qtbot.waitUntil(lambda: "It can see images" in panel.message.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "vision projector" in panel.mmproj_info.text(), timeout=10_000)
    assert Settings.load().llm_mmproj == str(mmproj)
    assert (tmp_path / "data" / "probed-models.json").is_file()  # tried in a child first
    assert tiny.llm is None  # the text-only instance was released once this one was ready


def test_dropped_garbage_gguf_is_refused_with_a_message(gui, qtbot, tmp_path):
    bad = tmp_path / "download.gguf"
    bad.write_bytes(b"<html>404 Not Found</html>")
    before = gui.session.engines.llm
    _drop(gui, [bad])
    panel = gui.model_panel
    assert panel is not None and panel.isVisible()
    qtbot.waitUntil(lambda: "not a GGUF file" in panel.message.text(), timeout=10_000)
    assert str(bad) in panel.message.text()
    assert gui.session.engines.llm is before
    assert not [b for b in gui.chat.bubbles if b.role == "error"]  # no half-attached image
