"""Parley from the rest of the desktop, on a real X server: hold the talk shortcut while
another application has the focus (autorepeat on), and the tray icon in a real tray (trayer).
Driven from outside with xdotool, the question spoken into the virtual microphone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.realtools import say_into_mic, similarity, words
from tests.x11 import REPO, Window, XServer

QUESTION = "How many legs does a spider have?"

OTHER_APP = """
import json
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication([])
box = QLineEdit()
box.setWindowTitle("another app")
box.resize(300, 40)
box.show()
log = open(sys.argv[1], "w", buffering=1)
box.textChanged.connect(lambda t: log.write(json.dumps(t) + "\\n"))
QTimer.singleShot(0, lambda: print(int(box.winId()), flush=True))
app.exec()
"""


@pytest.fixture
def xserver():
    with XServer() as server:
        yield server


class OtherApp:
    """A text box in a process of its own: the application the user is typing in."""

    def __init__(self, xserver: XServer, workdir: Path) -> None:
        self.typed = workdir / "typed.txt"
        env = {k: v for k, v in xserver.env.items() if k != "QT_QPA_PLATFORM"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", OTHER_APP, str(self.typed)],
            env=env, stdout=subprocess.PIPE, text=True, cwd=REPO,
        )  # fmt: skip
        self.window = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        xserver.run("xdotool", "windowfocus", "--sync", self.window)

    def text(self) -> str:
        lines = self.typed.read_text().splitlines() if self.typed.exists() else []
        return json.loads(lines[-1]) if lines else ""

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.mark.models
@pytest.mark.audio
def test_holding_the_shortcut_in_another_app_is_one_turn_and_an_answer(
    virtual_audio, xserver, speech, tmp_path
):
    question = speech(QUESTION)
    settings = {"sound_cues": False, "global_talk_key": "Ctrl+Alt+Space"}
    with Window(xserver, tmp_path, settings=settings) as window:
        window.wait_ready()
        ready = window.events("ready")[0]
        assert ready["global_key"], ready["global_problem"]
        other = OtherApp(xserver, tmp_path)
        try:
            xserver.autorepeat(250, 30)
            xserver.run("xdotool", "type", "hello")  # the user was typing over there
            xserver.key("keydown", "ctrl+alt+space")
            window.wait_for("listening", timeout=10)
            say_into_mic(question)  # the keys stay down meanwhile, autorepeating
            time.sleep(0.4)
            xserver.key("keyup", "ctrl+alt+space")
            finished = window.wait_for("turn_finished", timeout=90)
            time.sleep(1.0)  # a second turn would have started by now
            xserver.run("xdotool", "type", " there")
            time.sleep(0.3)
            typed = other.text()
        finally:
            other.close()
        events = window.events()
    turns = [e for e in events if e["kind"] == "listening"]
    said = [e["text"] for e in events if e["kind"] == "user_turn"]
    assert len(turns) == 1, f"{len(turns)} turns for one hold"
    assert len(said) == 1 and similarity(said[0], QUESTION) >= 0.85, said
    reply = finished[0]["reply"]
    assert "eight" in words(reply) or "8" in words(reply), reply
    assert typed == "hello there", typed  # the other app kept its focus and lost no key...
    assert not [e for e in events if e["kind"] == "key"]  # ...and Parley's window got none


def test_a_shortcut_another_app_holds_is_said_not_fatal(xserver, tmp_path):
    """Two Parleys: the second cannot have the shortcut, says so, and still opens."""
    code = (
        "from PySide6.QtWidgets import QApplication\n"
        "from app.ui.global_talk import GlobalTalkKey, ShortcutError\n"
        "app = QApplication([])\n"
        "first = GlobalTalkKey(app, 'Ctrl+Alt+Space', print, print)\n"
        "first.grab()\n"
        "import subprocess, sys\n"
        "second = subprocess.run([sys.executable, '-c', 'from PySide6.QtWidgets import "
        "QApplication\\nfrom app.ui.global_talk import GlobalTalkKey, ShortcutError\\n"
        'app = QApplication([])\\ntry:\\n    GlobalTalkKey(app, "Ctrl+Alt+Space", print, '
        'print).grab()\\nexcept ShortcutError as e:\\n    print("refused:", e)\'], '
        "capture_output=True, text=True)\n"
        "print(second.stdout.strip())\n"
    )
    env = {k: v for k, v in xserver.env.items() if k != "QT_QPA_PLATFORM"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60, cwd=REPO)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "refused: Ctrl+Alt+Space is already used by another application" in run.stdout


@pytest.mark.skipif(not shutil.which("trayer"), reason="trayer (a system tray) is not installed")
def test_the_tray_icon_sits_in_the_tray_and_shows_and_hides_the_window(xserver, tmp_path):
    # At the bottom edge, below the window: with no window manager nothing keeps a panel on top.
    tray = subprocess.Popen(["trayer", "--edge", "bottom", "--align", "right", "--widthtype",
                             "pixel", "--width", "120", "--height", "32"], env=xserver.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(1.5)  # trayer takes the tray selection
        with Window(xserver, tmp_path, settings={"sound_cues": False}) as window:
            window.wait_ready()
            assert window.events("ready")[0]["tray"]  # Qt found the tray
            icon = _embedded_icon(xserver, window.events("ready")[0]["window"])
            shown = _visible_parley(xserver)
            assert shown
            xserver.run("xdotool", "mousemove", "--window", icon, "8", "8")
            xserver.run("xdotool", "click", "1")
            _wait(lambda: not _visible_parley(xserver), "the window to hide")
            time.sleep(0.6)  # a later click, not the second half of a double click
            xserver.run("xdotool", "click", "1")
            _wait(lambda: bool(_visible_parley(xserver)), "the window to come back")
    finally:
        tray.terminate()
        tray.wait(timeout=10)


def _visible_parley(xserver: XServer) -> list[str]:
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Parley$"],
                         env=xserver.env, capture_output=True, text=True)  # fmt: skip
    return out.stdout.split()


def _embedded_icon(xserver: XServer, parley_window: int) -> str:
    """Parley's icon: a small window of Parley's X client (same resource-id base as its main
    window) that the tray has embedded (XEmbed) as a child of its panel."""
    client = parley_window >> 21
    line_re = re.compile(r"^\s+(0x[0-9a-f]+) .*?\s(\d+)x(\d+)\+")
    tree = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        tree = xserver.run("xwininfo", "-root", "-tree")
        for line in tree.splitlines():
            m = line_re.match(line)
            if not m:
                continue
            wid, w, h = int(m[1], 16), int(m[2]), int(m[3])
            if wid >> 21 == client and 8 <= w <= 64 and 8 <= h <= 64 and line.startswith(" " * 9):
                return str(wid)
        time.sleep(0.2)
    raise AssertionError(f"no Parley icon in the tray: {tree[-3000:]}")


def _wait(condition, what: str, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
