"""A real X server (Xvfb) and the real Parley window on it, driven from outside with xdotool
and xset, for push-to-talk tests and the heard-latency benchmark. No fakes in here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class XServer:
    """Xvfb on a free display number; `env` carries DISPLAY for the programs that use it."""

    def __init__(self, size: str = "800x900x24") -> None:
        for tool in ("Xvfb", "xdotool", "xset"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is needed: run scripts/setup.sh --test")
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(write)
        with os.fdopen(read) as fh:
            number = fh.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        self.env = {**os.environ, "DISPLAY": self.display}

    def run(self, *cmd: str) -> str:
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=20)
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
        return out.stdout

    platform = "xcb"  # QT_QPA_PLATFORM for a window on it

    def focus(self, window: int) -> None:
        """Focus the window as a click would (Xvfb has no window manager to do it)."""
        wid = str(window)
        self.run("xdotool", "windowfocus", "--sync", wid)
        self.run("xdotool", "mousemove", "--window", wid, "200", "60")

    def key(self, action: str, key: str = "space") -> float:
        """`xdotool keydown|keyup KEY` as its own process, as a person's finger; returns the
        CLOCK_MONOTONIC time at which xdotool had sent it."""
        self.run("xdotool", action, key)
        return time.monotonic()

    def autorepeat(self, delay_ms: int = 250, rate_hz: int = 30) -> None:
        """Turn key autorepeat on, as every desktop has it. Xvfb resets keyboard settings when
        its last client leaves, so call this while the window is connected."""
        self.run("xset", "r", "on")
        self.run("xset", "r", "rate", str(delay_ms), str(rate_hz))
        state = self.run("xset", "q")
        if "auto repeat:  on" not in state or f"repeat delay:  {delay_ms}" not in state:
            raise RuntimeError(f"xset did not take: {state}")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)

    def __enter__(self) -> XServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Window:
    """tests/window_app.py (the real window, real audio, default models) on `xserver` (an
    XServer, or a tests.wayland.WaylandServer: anything with `env`, `platform`, `focus`)."""

    def __init__(
        self,
        xserver: XServer,
        workdir: Path,
        busy: str = "",
        settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        new_chat_each_turn: bool = False,
        stalls: bool = False,
    ) -> None:
        self.xserver = xserver
        self.events_path = workdir / "events.jsonl"
        self.events_path.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "tests.window_app", "--events", str(self.events_path)]
        if busy:
            cmd += ["--busy", busy]
        if new_chat_each_turn:
            cmd.append("--new-chat-each-turn")
        if stalls:
            cmd.append("--stalls")
        for key, value in (settings or {}).items():
            cmd += ["--setting", f"{key}={json.dumps(value)}"]
        child_env = {**xserver.env, **(env or {})}
        child_env["QT_QPA_PLATFORM"] = xserver.platform  # a real window there, not offscreen
        child_env.setdefault("PARLEY_CONFIG_DIR", str(workdir / "config"))
        # A benchmark's questions are not the user's conversations (tests isolate both already).
        child_env.setdefault("PARLEY_HISTORY_DIR", str(workdir / "history"))
        self.log_path = workdir / "window.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=child_env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text(encoding="utf-8").splitlines()
        found = [json.loads(line) for line in lines if line.strip()]
        return [e for e in found if kind is None or e["kind"] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(kind)
            if len(found) >= count:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(f"the window exited ({self.proc.returncode}): {self.log()}")
            time.sleep(0.02)
        raise AssertionError(f"no {kind!r} within {timeout} s; events: {self.events()}")

    def wait_ready(self, timeout: float = 120.0) -> None:
        ready = self.wait_for("ready", timeout=timeout)[0]
        errors = self.events("error")
        if errors:
            raise AssertionError(f"the window reported errors: {errors}")
        self.xserver.focus(int(ready["window"]))

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hold_space_and_ask(display: Any, window: Window, question_wav: Path) -> float:
    """Press Space, speak, let go 0.4 s after the last word; the release time. `display`: an
    XServer or a tests.wayland.WaylandServer."""
    from tests.realtools import say_into_mic

    display.key("keydown")
    window.wait_for("listening", timeout=10)
    say_into_mic(question_wav)  # real time: the key stays down meanwhile, repeating
    time.sleep(0.4)
    return display.key("keyup")


def record_one_hold(
    display: Any, window: Window, question_wav: Path, workdir: Path
) -> tuple[dict[str, Any], list[dict[str, Any]], Any, int]:
    """One hold of Space with the question spoken (hold_space_and_ask) while the virtual
    speaker is recorded: the finished turn, every event of the window, and the recording."""
    from tests.realtools import SpeakerRecording

    recording = SpeakerRecording(workdir / "speaker.wav", max_seconds=90)
    recording.wait_started()
    try:
        hold_space_and_ask(display, window, question_wav)
        finished = window.wait_for("turn_finished", timeout=90)[0]
        time.sleep(1.0)  # a second extra turn would have started by now
    finally:
        heard, rate = recording.stop()
    return finished, window.events(), heard, rate


def assert_one_turn_and_its_answer_heard(
    question: str, answer_words: tuple[str, ...], finished: dict[str, Any],
    events: list[dict[str, Any]], heard: Any, rate: int, stt: Any,
) -> None:  # fmt: skip
    """What a person holding Space once must get: exactly one turn, the question heard, a
    reply with one of `answer_words`, and that reply said out loud (whisper hears it back
    from the speaker's recording)."""
    import numpy as np

    from app.audio.resample import resample
    from app.pipeline.hear import NO_SPEECH
    from tests.realtools import similarity, words

    turns = [e for e in events if e["kind"] == "listening"]
    notices = [e["message"] for e in events if e["kind"] == "notice"]
    said = [e["text"] for e in events if e["kind"] == "user_turn"]
    assert len(turns) == 1, f"{len(turns)} turns for one hold of Space; notices: {notices}"
    assert NO_SPEECH not in notices, notices
    assert len(said) == 1 and similarity(said[0], question) >= 0.85, said
    reply = finished["reply"]
    assert any(w in words(reply) for w in answer_words), reply
    loud = np.flatnonzero(np.abs(heard) > 0.02)
    assert loud.size, "the speaker stayed silent"
    spoken = heard[max(0, loud[0] - rate // 4) : loud[-1] + rate // 2]
    back = stt.transcribe(resample(spoken, rate, 16000))
    assert similarity(back, reply) >= 0.6, (back, reply)
