"""How many cores other programs are keeping busy right now.

llama.cpp's threads wait for each other in a spin barrier at every step, so an LLM given both
cores of a two-core machine while another program computes waits on that program's core at
every step (a browser, a build, a second Parley). The engines take a core less for each core
others keep busy (Engines.llm_threads_now): with a program busy on one of two cores, one
thread generated 1.0 to 6.3 times the tokens per second of two (median 1.8, 6 runs here).

Linux only (/proc/stat); elsewhere nobody else is counted, as before.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_STAT = Path("/proc/stat")
# Long enough to average a scheduler tick's jitter, short enough to follow a program that
# starts or stops computing within a reply.
WINDOW_SECONDS = 0.5


def _busy_seconds() -> float | None:
    """CPU seconds all programs have used since boot (None where /proc/stat is missing)."""
    try:
        fields = _STAT.read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


class OtherLoad:
    """Cores kept busy by other processes, over the last WINDOW_SECONDS or so: sampled when
    asked, at most once a window (cheap enough to ask before every token)."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._last = self._sample()
        self._cores = 0.0

    @staticmethod
    def _sample() -> tuple[float, float | None, float]:
        return time.monotonic(), _busy_seconds(), _own_seconds()

    def cores(self) -> float:
        with self._lock:
            # Asked before every token: /proc/stat is read only once a window has passed.
            if time.monotonic() - self._last[0] < self.window:
                return self._cores
            now = self._sample()
            wall = now[0] - self._last[0]
            if now[1] is None or self._last[1] is None:
                self._last = now
                return self._cores
            others = (now[1] - self._last[1]) - (now[2] - self._last[2])
            self._cores = max(0.0, others / wall)
            self._last = now
            return self._cores

    def whole_cores(self) -> int:
        """Busy cores to leave alone: a core counts from 60 % busy (a program at 30 % leaves
        enough of its core for a spin barrier's partner)."""
        return int(self.cores() + 0.4)
