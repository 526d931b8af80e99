"""Text for the terminal: control characters shown, never obeyed.

A file name, a chat title or message, a remote server's reply or error can carry escape
sequences (ESC [ ... m colours, ESC ] 0 ; ... BEL a window title, OSC 52 a clipboard write on
some terminals) or bidirectional overrides that reorder what is seen. Printed raw, the
terminal acts on them. `printable` spells each such character as `\\uXXXX` instead: visible,
and in a JSON line still a valid escape of the same character, so `--json` stays lossless.

`install()` puts `SafeStream` in front of stdout and stderr, so every print of the CLI, its
error messages, argparse's and the --verbose log go through `printable`: one helper for all
output, not one call per print that a new print could forget.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TextIO

from app.interrupt import EXIT_CODE, STOPPED

P = ParamSpec("P")

# C0 controls but tab and newline, DEL, C1 controls (0x9B is a one-byte CSI on some
# terminals), and the bidirectional marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _spelled(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def printable(text: str) -> str:
    """`text` with every control character (but tab and newline) and bidirectional control
    spelled out as `\\uXXXX`."""
    return _UNSAFE.sub(_spelled, text)


class SafeStream:
    """A text stream that writes `printable(text)` to the stream it wraps. A write that
    begins with a carriage return keeps it: that is Parley redrawing its own progress line
    (a `\\r` anywhere else, in a title say, could hide what precedes it)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        lead = "\r" if text.startswith("\r") else ""
        self._stream.write(lead + printable(text[len(lead) :]))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    @property
    def wrapped(self) -> TextIO:
        return self._stream

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, buffer...
        return getattr(self._stream, name)


def install() -> None:
    """Route stdout and stderr through SafeStream (once)."""
    if not isinstance(sys.stdout, SafeStream) and sys.stdout is not None:
        sys.stdout = SafeStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, SafeStream) and sys.stderr is not None:
        sys.stderr = SafeStream(sys.stderr)  # type: ignore[assignment]


# 128 + SIGPIPE: what a shell reports for a command whose reader went away (`yes | head`).
BROKEN_PIPE_EXIT = 141


def guarded_output(main: Callable[P, int]) -> Callable[P, int]:
    """Wrap a command-line entry point: its output goes through SafeStream, and a reader
    that stops early (`parley models list | head -1`) ends it quietly instead of with a
    BrokenPipeError traceback."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        install()
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()  # here, not at exit, where a closed pipe can't be caught
            return code
        except BrokenPipeError:
            _silence_closed_pipes()
            return BROKEN_PIPE_EXIT
        except KeyboardInterrupt:
            # Ctrl-C in any command (`chats list`, `models list`, `prepare`...): one line and
            # the shell's code for it, not a traceback from wherever Python happened to be.
            # A second Ctrl-C while Python winds down (waiting on a thread) ends it at once.
            signal.signal(signal.SIGINT, lambda *_: os._exit(EXIT_CODE))
            with contextlib.suppress(OSError, ValueError):
                print(f"parley: {STOPPED}", file=sys.stderr, flush=True)
            return EXIT_CODE

    return run


def _silence_closed_pipes() -> None:
    """Point stdout (and stderr, if its reader went too) at /dev/null, so the flush at exit
    has somewhere to go and Python prints no 'Exception ignored' for it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.__stdout__, sys.__stderr__):
        if stream is None:
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            os.dup2(devnull, stream.fileno())
