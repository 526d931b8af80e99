"""The `parley` command's first step: a Ctrl-C while Python is still importing Parley (its
first tenth of a second or so) ends with the same line and code as one later, not with a
KeyboardInterrupt traceback from inside an import. Later Ctrl-Cs are app/interrupt.py's and
app/safety/terminal.py's."""

from __future__ import annotations

import os
import signal


def _stopped_early(signum: int, frame: object) -> None:
    # app/interrupt.py's STOPPED and EXIT_CODE, spelled out: nothing of Parley's is imported
    # before this handler is in place.
    os.write(2, b"parley: Stopped (Ctrl-C).\n")
    os._exit(130)


def main() -> int:
    signal.signal(signal.SIGINT, _stopped_early)
    from app.cli.main import main as run

    signal.signal(signal.SIGINT, signal.default_int_handler)
    return run()
