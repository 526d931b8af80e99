"""Open the real Parley window (xcb platform), have a short typed conversation on the default
models, and save a screenshot of the whole screen. Run through scripts/screenshot.sh:

    scripts/screenshot.sh OUT.png [--dark] [--width PX] [--welcome]

--dark gives the desktop a dark palette, --width makes the window that narrow, --welcome
shoots the first-run welcome instead of a conversation."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from qasync import QEventLoop

from app.bus import EventBus
from app.bus.events import TurnFinished
from app.config import Settings
from app.ui.app import build_window, real_backend

QUESTIONS = ["What is the capital of France?", "Give me a **tip** for learning a new language."]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path, nargs="?", default=Path("artifacts/screenshot.png"))
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--width", type=int, default=0)
    parser.add_argument("--welcome", action="store_true")
    args = parser.parse_args()
    out = args.out
    app = QApplication(sys.argv[:1])
    if args.dark:
        from app.ui.style import dark_palette

        app.setPalette(dark_palette())
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    bus = EventBus(loop)
    settings = Settings()
    settings.llm_max_tokens = 80
    window = build_window(settings, bus, real_backend())
    window.show()
    if args.width:
        window.resize(args.width, window.height())
    window.session.start()
    remaining = list(QUESTIONS)

    def ask_next(_: object = None) -> None:
        if remaining:
            window.input.setText(remaining.pop(0))
            window.send_typed()
        else:
            QTimer.singleShot(800, shoot)

    def shoot() -> None:
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(out))
        print(f"saved {out}")
        app.quit()

    if args.welcome:
        QTimer.singleShot(300, window.show_welcome)
        QTimer.singleShot(2500, shoot)
    else:
        bus.subscribe(TurnFinished, lambda e: QTimer.singleShot(300, ask_next))
        QTimer.singleShot(500, ask_next)
    QTimer.singleShot(180_000, app.quit)  # never hang
    with loop:
        loop.run_forever()
    return 0 if out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
