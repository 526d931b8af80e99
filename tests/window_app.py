"""The real Parley window in a process of its own, for tests and benchmarks that drive it from
outside (an X server, xdotool, the virtual sound stack), the way a person uses it.

    python -m tests.window_app --events OUT.jsonl [--busy MS/PERIOD] [--setting KEY=JSON ...]

It builds the window exactly as `parley` does (real sounddevice audio, the offline default
models) and appends one JSON line per event a person would notice to OUT.jsonl: `ready` once
every engine has loaded, then `key` (each Space press and release Qt delivers), `listening`,
`speech_ended` (the recording handed over), `user_turn` (what was heard), `notice`, `error`,
`first_audio` and `turn_finished` (with the turn's timings), with `--stalls` a `stall` for
each time the GUI thread was held up over 30 ms, each with `t`, the
CLOCK_MONOTONIC time (shared by all processes on the machine), so the driver can line them up
with its own key presses and recordings. `--busy 150/200` blocks the GUI thread for 150 ms of
every 200 ms (a window busy painting, or a slow machine), the condition under which X11's
autorepeat was seen to break hold-to-talk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QWindow
from PySide6.QtWidgets import QApplication
from qasync import QEventLoop

from app.bus import EventBus
from app.bus.events import (
    EngineStatus,
    ErrorRaised,
    Notice,
    PlaybackStarted,
    RecordingStarted,
    SpeechEnded,
    TurnFinished,
    UserTurn,
)
from app.config import Settings
from app.ui.app import build_window, real_backend


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--busy", default="", help="MS/PERIOD: block the GUI thread")
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument(
        "--new-chat-each-turn", action="store_true", help='press "New chat" after every turn'
    )
    parser.add_argument(
        "--stalls", action="store_true", help="log each GUI-thread stall over 30 ms (`stall`)"
    )
    args = parser.parse_args()

    settings = Settings()
    for item in args.setting:
        key, _, value = item.partition("=")
        setattr(settings, key, json.loads(value))
    app = QApplication(sys.argv)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    bus = EventBus(loop)
    window: Any = build_window(settings, bus, real_backend())
    log = args.events.open("a", encoding="utf-8", buffering=1)

    def write(kind: str, at: float | None = None, **fields: Any) -> None:
        log.write(json.dumps({"kind": kind, "t": at or time.monotonic(), **fields}) + "\n")

    class ToEvents(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            write("log", name=record.name, message=record.getMessage())

    handler = ToEvents(logging.DEBUG)
    logging.getLogger("app.pipeline").addHandler(handler)
    logging.getLogger("app.pipeline").setLevel(logging.DEBUG)

    ready: set[str] = set()

    def on_status(ev: EngineStatus) -> None:
        if ev.engine in ("stt", "llm", "tts") and ev.state in ("ready", "error"):
            ready.add(ev.engine)
            if ev.state == "error":
                write("error", message=ev.detail)
            if len(ready) == 3:
                write(
                    "ready",
                    window=int(window.winId()),
                    tray=window.tray.icon is not None,
                    global_key=window.global_key is not None,
                    global_problem=window.global_key_problem,
                )

    bus.subscribe(EngineStatus, on_status)
    bus.subscribe(RecordingStarted, lambda e: write("listening", e.at, turn=e.turn_id))
    bus.subscribe(
        UserTurn,
        lambda e: write("user_turn", e.at, turn=e.turn_id, text=e.text, spoken=e.spoken),
    )
    bus.subscribe(SpeechEnded, lambda e: write("speech_ended", e.at, turn=e.turn_id))
    bus.subscribe(Notice, lambda e: write("notice", e.at, turn=e.turn_id, message=e.message))
    bus.subscribe(ErrorRaised, lambda e: write("error", e.at, turn=e.turn_id, message=e.message))
    bus.subscribe(PlaybackStarted, lambda e: write("first_audio", e.at, turn=e.turn_id))
    bus.subscribe(
        TurnFinished,
        lambda e: write(
            "turn_finished",
            e.at,
            turn=e.turn_id,
            transcript=e.transcript,
            reply=e.reply,
            interrupted=e.interrupted,
            timings=e.timings,
        ),
    )

    class KeyLog(QObject):
        """Every Space press and release the window gets, and whether Qt flagged it."""

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
            kinds = {QEvent.Type.KeyPress: "press", QEvent.Type.KeyRelease: "release"}
            if event.type() in kinds and isinstance(obj, QWindow):
                key: QKeyEvent = event  # type: ignore[assignment]
                if key.key() == Qt.Key.Key_Space:
                    write("key", action=kinds[event.type()], autorepeat=key.isAutoRepeat())
            return False

    key_log = KeyLog()
    app.installEventFilter(key_log)

    if args.new_chat_each_turn:
        bus.subscribe(TurnFinished, lambda e: QTimer.singleShot(0, window.new_chat))

    if args.busy:
        block_ms, period_ms = (int(x) for x in args.busy.split("/"))

        def hog() -> None:  # the GUI thread does nothing else meanwhile, as in a long paint
            end = time.monotonic() + block_ms / 1000
            while time.monotonic() < end:
                pass

        busy = QTimer()
        busy.setInterval(period_ms)
        busy.timeout.connect(hog)
        busy.start()

    if args.stalls:
        # A 5 ms timer that fires late means the GUI thread (and the asyncio loop on it, where
        # the bus hands work on) was held up: by painting, the platform, or our own code.
        last = [time.monotonic()]

        def tick() -> None:
            now = time.monotonic()
            if now - last[0] > 0.030:
                write("stall", at=now, ms=round((now - last[0]) * 1000, 1))
            last[0] = now

        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(tick)
        probe.start()

    window.show()
    QTimer.singleShot(0, window.session.start)
    QTimer.singleShot(600_000, app.quit)  # never outlive a test run
    with loop:
        loop.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
