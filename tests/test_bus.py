"""The event bus: who gets which event, on which thread, and what a cancelled turn may still say."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from app.bus import EventBus
from app.bus.events import (
    ErrorRaised,
    Event,
    LlmDelta,
    Notice,
    TtsChunk,
    TurnCancelled,
    TurnFinished,
    UserTurn,
)

TIMEOUT = 5.0


async def _settle(bus: EventBus) -> None:
    """Let everything already queued on the loop (call_soon_threadsafe) be delivered."""
    done = asyncio.get_running_loop().create_future()
    # Queued behind every callback scheduled so far, so it runs after them.
    bus.loop.call_soon_threadsafe(done.set_result, None)
    await asyncio.wait_for(done, TIMEOUT)
    await bus.drain()


def test_handler_for_a_base_class_gets_subclass_events() -> None:
    bus = EventBus()
    got_all: list[Event] = []
    got_delta: list[Event] = []
    got_notice: list[Event] = []
    bus.subscribe(Event, got_all.append)
    bus.subscribe(LlmDelta, got_delta.append)
    bus.subscribe(Notice, got_notice.append)

    delta = LlmDelta(turn_id=1, text="hi")
    notice = Notice(message="note")
    bus.publish(delta)
    bus.publish(notice)

    assert got_all == [delta, notice]
    assert got_delta == [delta]
    assert got_notice == [notice]


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus()
    got: list[Event] = []
    other: list[Event] = []
    unsubscribe = bus.subscribe(Notice, got.append)
    bus.subscribe(Notice, other.append)

    bus.publish(Notice(message="one"))
    unsubscribe()
    unsubscribe()  # a second call must not remove someone else's subscription
    bus.publish(Notice(message="two"))

    assert [e.message for e in got] == ["one"]
    assert [e.message for e in other] == ["one", "two"]


def test_a_raising_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    before: list[Event] = []
    after: list[Event] = []

    def broken(_event: Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(Notice, before.append)
    bus.subscribe(Notice, broken)
    bus.subscribe(Notice, after.append)

    with caplog.at_level(logging.ERROR):
        bus.publish(Notice(message="still delivered"))  # must not raise

    assert len(before) == 1
    assert len(after) == 1
    assert "subscriber bug" in caplog.text


def test_async_handlers_run_on_the_loop() -> None:
    async def main() -> None:
        bus = EventBus(asyncio.get_running_loop())
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def handler(event: Notice) -> None:
            await asyncio.sleep(0)  # really suspends, so this is a coroutine run as a task
            done.set_result(event.message)

        bus.subscribe(Notice, handler)
        bus.publish(Notice(message="async hello"))
        assert await asyncio.wait_for(done, TIMEOUT) == "async hello"

    asyncio.run(main())


def test_a_failing_async_handler_does_not_break_drain(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> list[str]:
        bus = EventBus(asyncio.get_running_loop())
        got: list[str] = []

        async def broken(_event: Notice) -> None:
            raise RuntimeError("async subscriber bug")

        bus.subscribe(Notice, broken)
        bus.subscribe(Notice, lambda e: got.append(e.message))
        bus.publish(Notice(message="x"))
        await asyncio.wait_for(bus.drain(), TIMEOUT)
        return got

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(main()) == ["x"]
    assert "async subscriber bug" in caplog.text


def test_publish_threadsafe_from_a_worker_arrives_on_the_loop_thread() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        loop_thread = threading.get_ident()
        arrived: asyncio.Future[tuple[int, str]] = loop.create_future()
        bus.subscribe(Notice, lambda e: arrived.set_result((threading.get_ident(), e.message)))
        worker = threading.Thread(
            target=bus.publish_threadsafe, args=(Notice(message="from worker"),)
        )
        worker.start()
        thread, message = await asyncio.wait_for(arrived, TIMEOUT)
        worker.join(TIMEOUT)
        assert message == "from worker"
        assert thread == loop_thread
        assert thread != worker.ident

    asyncio.run(main())


def test_data_events_of_a_cancelled_turn_are_dropped_at_publish() -> None:
    bus = EventBus()
    got: list[Event] = []
    bus.subscribe(Event, got.append)

    bus.cancel_turn(7)
    bus.publish(LlmDelta(turn_id=7, text="late token"))
    bus.publish(UserTurn(turn_id=7, text="late"))
    bus.publish(LlmDelta(turn_id=8, text="new turn"))

    assert [(type(e).__name__, e.turn_id) for e in got] == [("LlmDelta", 8)]
    assert bus.is_cancelled(7)
    assert not bus.is_cancelled(8)


def test_data_event_queued_from_a_thread_before_cancel_is_dropped() -> None:
    """A token already on its way from the worker must not reach the screen after a cancel."""

    async def main() -> list[Event]:
        import numpy as np

        bus = EventBus(asyncio.get_running_loop())
        got: list[Event] = []
        bus.subscribe(Event, got.append)

        def worker() -> None:
            bus.publish_threadsafe(LlmDelta(turn_id=3, text="in flight"))
            bus.publish_threadsafe(
                TtsChunk(turn_id=3, index=0, samples=np.zeros(4, np.float32), sample_rate=16000)
            )
            bus.publish_threadsafe(TurnCancelled(turn_id=3))  # control: must arrive

        # The loop is not running callbacks while this coroutine runs without awaiting, so the
        # events are queued, not delivered, when the turn is cancelled below.
        t = threading.Thread(target=worker)
        t.start()
        t.join(TIMEOUT)
        assert not got, "nothing can be delivered before the loop gets control"
        bus.cancel_turn(3)
        await _settle(bus)
        return got

    got = asyncio.run(main())
    assert [type(e).__name__ for e in got] == ["TurnCancelled"]


def test_control_events_of_a_cancelled_turn_are_never_dropped() -> None:
    async def main() -> list[Event]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        got: list[Event] = []
        from_thread: asyncio.Future[None] = loop.create_future()
        bus.subscribe(Event, got.append)
        bus.subscribe(ErrorRaised, lambda e: e.source == "tts" and from_thread.set_result(None))
        bus.cancel_turn(5)
        bus.publish(TurnCancelled(turn_id=5))
        bus.publish(ErrorRaised(turn_id=5, source="llm", message="boom"))
        bus.publish(TurnFinished(turn_id=5, transcript="q", reply="r", spoken="", timings={}))
        threading.Thread(
            target=bus.publish_threadsafe,
            args=(ErrorRaised(turn_id=5, source="tts", message="from thread"),),
        ).start()
        await asyncio.wait_for(from_thread, TIMEOUT)
        return got

    got = asyncio.run(main())
    assert [type(e).__name__ for e in got] == [
        "TurnCancelled",
        "ErrorRaised",
        "TurnFinished",
        "ErrorRaised",
    ]
    assert got[-1].message == "from thread"


def test_a_handler_that_cancels_the_turn_stops_later_handlers_getting_its_data() -> None:
    """Once a turn is cancelled mid-dispatch, the remaining subscribers don't see its data."""
    bus = EventBus()
    later: list[Event] = []
    bus.subscribe(LlmDelta, lambda e: bus.cancel_turn(e.turn_id))
    bus.subscribe(LlmDelta, later.append)
    bus.publish(LlmDelta(turn_id=2, text="x"))
    assert later == []


def test_turn_zero_is_never_cancelled() -> None:
    """Events outside any turn (id 0) must keep flowing even if someone 'cancels' turn 0."""
    bus = EventBus()
    got: list[Event] = []
    bus.subscribe(LlmDelta, got.append)
    bus.cancel_turn(0)
    bus.publish(LlmDelta(turn_id=0, text="x"))
    assert len(got) == 1
