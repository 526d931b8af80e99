"""One thread per engine: llama.cpp, whisper and piper are blocking and not thread-safe.

Each worker also says whether it is computing right now (`busy`), so that engines sharing the
CPU can leave cores to each other (see Engines.llm_threads_now).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
_here = threading.local()  # the Worker whose thread this is


@contextmanager
def waiting() -> Iterator[None]:
    """Inside a job: it waits (for audio, for a decision) rather than computes, so it does not
    count as busy meanwhile."""
    worker: Worker | None = getattr(_here, "worker", None)
    if worker is not None:
        worker._add(-1)
    try:
        yield
    finally:
        if worker is not None:
            worker._add(1)


class Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"parley-{name}")
        self._running = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """A job is computing on this worker now (queued or waiting ones do not count)."""
        return self._running > 0

    def _add(self, n: int) -> None:
        with self._lock:
            self._running += n

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        def job() -> T:
            _here.worker = self
            self._add(1)
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(-1)

        return self._pool.submit(job)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` on this worker's thread and await its result without blocking the loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
