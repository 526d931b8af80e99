"""The window against a sound system that hangs or is missing: how long the window's thread
stalls, and how long Parley takes to find the sound system once it appears.

Runs the real window (offscreen) with the real sound path (sounddevice -> PortAudio -> ALSA's
pulse plugin -> PulseAudio) on a PulseAudio server of its own (tests/private_pulse.py), and
scripted engines (no model: the sound system is what is measured).

  stall   the server freezes (SIGSTOP) while the window runs with its speaker closed (idle),
          and the user holds the talk key 6 s; again for a typed question, and for new
          devices saved in Settings (the server thawed between them). A 10 ms timer on the
          window's thread measures the longest gap between its ticks (the window frozen)
          over each action and 6 s after.
  launch  Parley starts while the server is frozen: seconds until the window is shown.
  missing Parley starts with no server; the server starts 2, 7 or 20 s after the window
          shows: seconds from then until the audio status says ready, and the talk button
          is on, by themselves (40 s at most).

To compare with another checkout, copy this file and tests/sound_window.py there and run
it there too, one after the other (under the bench lock):

    .venv/bin/python bench/sound_system.py stall|launch|missing [--n 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.private_pulse import PrivatePulse  # noqa: E402
from tests.sound_window import scripted_window  # noqa: E402

AFTER = 6.0  # seconds watched after each action


async def _until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def stall(n: int) -> dict[str, Any]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from qasync import QEventLoop

    pulse = PrivatePulse()
    pulse.start()
    os.environ["PULSE_SERVER"] = pulse.server
    app = QApplication.instance() or QApplication(sys.argv)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    results: dict[str, list[float]] = {"talk": [], "typed": [], "settings": []}

    def worst(since: float) -> float:
        seen = [since, *[t for t in ticks if t > since]]
        return max(b - a for a, b in zip(seen, seen[1:], strict=False)) if len(seen) > 1 else 0

    async def idle(window: Any) -> None:
        """The speaker closed, as it is 10 s after a turn; the server frozen."""
        session = window.session
        session.speaker_idle_seconds = 0.2
        session._speaker_idle_later(None)
        await _until(lambda: session.player is None or not session.player.is_open, 10)
        await asyncio.sleep(0.5)
        pulse.freeze()

    async def thawed(window: Any) -> None:
        pulse.freeze(False)
        await _until(lambda: not window.session.turns.busy, 120)
        await asyncio.sleep(2.0)

    async def talk(window: Any) -> None:  # the talk key held 6 s, then let go
        window.start_talking()
        await asyncio.sleep(AFTER)
        window.stop_talking()

    async def typed(window: Any) -> None:  # a typed question: its turn opens the speaker
        window.input.setText("How are you?")
        window.send_typed()
        await asyncio.sleep(AFTER)

    async def settings(window: Any) -> None:  # Settings saved with new devices
        window.session.reopen_audio()
        await asyncio.sleep(AFTER)

    async def run() -> None:
        window = scripted_window(loop)
        window.show()
        window.session.start()
        await _until(lambda: window.status.states.get("llm") == "ready", 30)
        timer.start()
        for _ in range(n):
            for name, action in (("talk", talk), ("typed", typed), ("settings", settings)):
                await idle(window)
                began = time.monotonic()
                await action(window)
                results[name].append(worst(began))
                print(name, round(results[name][-1], 3), file=sys.stderr, flush=True)
                await thawed(window)
        window.close()

    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        pulse.close()
    return {
        "stall_ms": {
            k: {"median": round(1000 * statistics.median(v)), "max": round(1000 * max(v))}
            for k, v in results.items()
        },
        "runs": {k: [round(1000 * x) for x in v] for k, v in results.items()},
        "n": n,
    }


class _Child:
    """`python -m tests.sound_window` against `pulse`: Parley started afresh; its lines."""

    def __init__(self, pulse: PrivatePulse) -> None:
        env = {**pulse.env, "QT_QPA_PLATFORM": "offscreen"}
        for key in ("PARLEY_CONFIG_DIR", "PARLEY_HISTORY_DIR", "PARLEY_LOG_DIR"):
            env[key] = str(pulse.dir / key.lower())
        self.began = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sound_window"],
            env=env,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put({**json.loads(line), "at": time.monotonic()})

    def until(self, condition: Any, seconds: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if condition(line):
                return line
        return None

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def launch(n: int) -> dict[str, Any]:
    shown: list[float] = []
    for _ in range(n):
        pulse = PrivatePulse()
        pulse.start()
        pulse.freeze()
        child = _Child(pulse)
        try:
            line = child.until(lambda x: x.get("shown"), 400)
            assert line is not None
            shown.append(line["at"] - child.began)
        finally:
            pulse.freeze(False)
            child.close()
            pulse.close()
    return {
        "launch_frozen_shown_s": round(statistics.median(shown), 2),
        "runs": [round(x, 2) for x in shown],
        "n": n,
    }


def missing(n: int, delays: tuple[float, ...] = (2.0, 7.0, 20.0)) -> dict[str, Any]:
    """The server starts 2, 7 and 20 s after the window shows (in turn)."""
    runs: list[dict[str, Any]] = []
    for i in range(n):
        pulse = PrivatePulse()  # not started: no sound system at launch
        child = _Child(pulse)
        try:
            child.until(lambda x: x.get("shown"), 60)
            delay = delays[i % len(delays)]
            time.sleep(delay)
            pulse.start()
            since = time.monotonic()
            back = child.until(lambda x: x.get("audio") == "ready" and x.get("talk"), 40)
            took = round(back["at"] - since, 2) if back else None
            runs.append({"started_after_s": delay, "recovered_s": took})
        finally:
            child.close()
            pulse.close()
    done = [r["recovered_s"] for r in runs if r["recovered_s"] is not None]
    return {
        "recovered_s_median": round(statistics.median(done), 2) if done else None,
        "recovered": f"{len(done)} of {n} within 40 s",
        "runs": runs,
        "n": n,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["stall", "launch", "missing"])
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = {"stall": stall, "launch": launch, "missing": missing}[args.what](args.n)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
