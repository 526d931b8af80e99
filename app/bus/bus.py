"""An asyncio event bus with a thread-safe publish.

Handlers subscribe per event class (subclasses included). `publish` runs on the loop; worker
threads use `publish_threadsafe`. A handler that raises is logged and the others still run, so
one broken subscriber cannot stall the conversation. Data events of a cancelled turn are
dropped both when published and when delivered, so one already queued from a worker thread
cannot slip through after the cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.bus.events import DataEvent, Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], "Awaitable[None] | None"]


class EventBus:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._handlers: list[tuple[type[Event], Handler]] = []
        self._cancelled: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop that dispatches events (call from that loop's thread)."""
        self._loop = loop

    def subscribe(self, event_type: type[E], handler: Callable[[E], Any]) -> Callable[[], None]:
        """Call `handler` for every `event_type` (or subclass); returns an unsubscribe callable."""
        entry = (event_type, handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe

    def cancel_turn(self, turn_id: int) -> None:
        """From now on drop data events of `turn_id`."""
        if turn_id:
            self._cancelled.add(turn_id)

    def is_cancelled(self, turn_id: int) -> bool:
        return turn_id in self._cancelled

    def _dropped(self, event: Event) -> bool:
        return isinstance(event, DataEvent) and event.turn_id in self._cancelled

    def publish(self, event: Event) -> None:
        """Deliver `event` now, on the loop's thread."""
        if self._dropped(event):
            return
        for event_type, handler in list(self._handlers):
            if not isinstance(event, event_type):
                continue
            if self._dropped(event):  # a handler may have cancelled the turn meanwhile
                return
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result, loop=self.loop)
                    self._tasks.add(task)
                    task.add_done_callback(self._task_done)
            except Exception:
                log.exception("handler %r failed on %s", handler, type(event).__name__)

    def publish_threadsafe(self, event: Event) -> None:
        """Deliver `event` on the loop from any thread (workers, audio callbacks)."""
        if self._dropped(event):
            return
        loop = self.loop
        if loop.is_closed():
            return
        # The loop may close between the check and the call while the app exits.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self.publish, event)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("async handler failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until async handlers started so far have finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
