"""A download's speed and its progress calls, throttled so a fast link does not flood the GUI."""

from __future__ import annotations

import time
from collections import deque

from app.models.download.results import DownloadProgress, ProgressCallback


class Meter:
    """Rate over a sliding window and throttled progress calls."""

    def __init__(
        self, label: str, callback: ProgressCallback | None, interval: float, window: float = 3.0
    ) -> None:
        self.label = label
        self.callback = callback
        self.interval = interval
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()
        self.last_call = 0.0
        self.last_done = 0
        self.resumed_from = 0

    def rate(self, now: float, done: int) -> float:
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        t0, d0 = self.samples[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0

    def report(self, done: int, total: int | None, phase: str, force: bool = False) -> None:
        now = time.monotonic()
        rate = self.rate(now, done) if phase == "downloading" else 0.0
        if self.callback is None:
            return
        # Every `interval` seconds, and every 2% too: with time alone, a burst that ends in a
        # stall would leave the bar showing where the burst began.
        step = total // 50 if total else None
        if not (
            force
            or now - self.last_call >= self.interval
            or (step and done - self.last_done >= step)
        ):
            return
        self.last_call, self.last_done = now, done
        self.callback(DownloadProgress(self.label, done, total, rate, phase, self.resumed_from))
