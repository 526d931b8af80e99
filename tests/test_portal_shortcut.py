"""Hold to talk from any application on Wayland, through the GlobalShortcuts portal: the real
window (real models, fake audio device for exact timing) talks D-Bus to a portal on a private
session bus (a real dbus-daemon; the portal is tests/fake_portal.py, since its real backends
need a Wayland compositor). The shortcut going down and up is one spoken turn."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.bus.events import TurnFinished
from tests.realtools import REPO

pytestmark = pytest.mark.skipif(not shutil.which("dbus-daemon"), reason="no dbus-daemon")


@pytest.fixture
def session_bus() -> Iterator[str]:
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    address = daemon.stdout.readline().strip()  # type: ignore[union-attr]
    yield address
    daemon.terminate()
    daemon.wait(timeout=10)


def _portal(address: str, *flags: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_portal", address, *flags],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    return proc


@pytest.fixture
def portal(session_bus: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen]:
    proc = _portal(session_bus)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    monkeypatch.setenv("PARLEY_SHORTCUTS", "portal")  # as on Wayland, where no key is grabbed
    yield proc
    proc.stdin.close()  # type: ignore[union-attr]
    proc.wait(timeout=10)


def _send(proc: subprocess.Popen, line: str) -> None:
    proc.stdin.write(line + "\n")  # type: ignore[union-attr]
    proc.stdin.flush()  # type: ignore[union-attr]
    assert proc.stdout.readline().strip() == line  # type: ignore[union-attr]


@pytest.mark.models
def test_the_portal_shortcut_held_is_one_spoken_turn(portal, gui, qtbot, speech):
    assert portal.stdout.readline().strip() == "bound CTRL+ALT+space"  # what Parley asked for
    qtbot.waitUntil(lambda: gui.global_key is not None and gui.global_key.active, timeout=10_000)
    wav = speech("What is the capital of France?")
    _send(portal, "press")
    qtbot.waitUntil(lambda: gui.hold.held_by == "global" and bool(gui._listening_turn),
                    timeout=10_000)  # fmt: skip
    gui.backend.feed(wav)
    qtbot.waitUntil(lambda: gui.backend.pending_input_seconds() == 0, timeout=20_000)
    qtbot.wait(300)
    _send(portal, "release")
    qtbot.waitUntil(lambda: not gui._listening_turn, timeout=5_000)
    qtbot.waitUntil(lambda: any(isinstance(e, TurnFinished) for e in gui.events), timeout=60_000)
    [done] = [e for e in gui.events if isinstance(e, TurnFinished)]
    assert "france" in done.transcript.lower() and "Paris" in done.reply
    users = [b for b in gui.chat.bubbles if b.role == "user"]
    assert len(users) == 1  # one hold, one turn


def test_a_cancelled_shortcut_is_said_and_the_window_works(
    session_bus, monkeypatch, qtbot, qloop, settings
):
    from app.audio.fake import FakeAudioBackend
    from app.bus import EventBus
    from app.ui.app import build_window

    proc = _portal(session_bus, "--refuse")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    monkeypatch.setenv("PARLEY_SHORTCUTS", "portal")
    try:
        w = build_window(settings, EventBus(qloop), FakeAudioBackend())
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: bool(w.global_key_problem), timeout=10_000)
        assert w.global_key is None
        assert "not available (the shortcut was not confirmed)" in w.global_key_problem
        assert "not confirmed" in w.show_welcome().talk_anywhere.text()
        assert w.talk_button.isEnabled()
        w.close()
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=10)


def test_no_session_bus_is_said_not_fatal(monkeypatch, qtbot, qloop, settings):
    from app.audio.fake import FakeAudioBackend
    from app.bus import EventBus
    from app.ui.app import build_window

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    monkeypatch.setenv("PARLEY_SHORTCUTS", "portal")
    w = build_window(settings, EventBus(qloop), FakeAudioBackend())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: bool(w.global_key_problem), timeout=10_000)
    assert "no D-Bus session bus" in w.global_key_problem
    w.close()
