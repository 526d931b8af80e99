"""Engines.reload: another model (voice, language) while the app runs, on the engine's worker.

Scripted engines stand in for the real ones so that the order of events (new engine ready
before the old one is released; a reply already running finishes on the old model) is exact;
the real models are switched in tests/test_model_panel.py and tests/test_stt_switch.py."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from app.bus import EventBus
from app.bus.events import EngineStatus
from app.config import Settings
from app.models.errors import ModelError
from app.pipeline.engines import Engines
from tests.fakes import FakeLLM, FakeSTT, FakeTTS


class NamedLLM(FakeLLM):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(reply=f"I am {name}.")
        self.name = name
        self.log = log
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.log.append(f"closed {self.name}")


def _engines(bus: EventBus, settings: Settings, log: list[str], threads: list[str]) -> Engines:
    def llm_factory(s: Settings, _progress: Any) -> NamedLLM:
        threads.append(threading.current_thread().name)
        if s.llm_model.endswith("broken.gguf"):
            raise ModelError(f"{s.llm_model} is not a GGUF file.")
        if s.llm_model.endswith("crash.gguf"):
            raise RuntimeError("native library said no")
        name = s.llm_model or "default"
        log.append(f"created {name}")
        return NamedLLM(name, log)

    return Engines(
        bus,
        settings,
        stt_factory=lambda _s: FakeSTT(),
        llm_factory=llm_factory,
        tts_factory=lambda _s: FakeTTS(),
        warm_up=False,
    )


def _run(scenario: Any) -> Any:
    async def main() -> Any:
        bus = EventBus(asyncio.get_running_loop())
        statuses: list[EngineStatus] = []
        bus.subscribe(EngineStatus, statuses.append)
        settings = Settings()
        log: list[str] = []
        threads: list[str] = []
        engines = _engines(bus, settings, log, threads)
        engines.start(("llm",))
        await asyncio.wrap_future(engines.workers["llm"].submit(lambda: None))
        try:
            result = await scenario(engines, settings, log)
        finally:
            engines.shutdown()
        await asyncio.sleep(0.05)  # let the last thread-safe publishes arrive
        return result, [(s.state, s.detail) for s in statuses if s.engine == "llm"], threads

    return asyncio.run(main())


def test_reload_swaps_the_model_and_releases_the_old_one_after():
    async def scenario(engines: Engines, settings: Settings, log: list[str]) -> Any:
        first = engines.llm
        new = await asyncio.wrap_future(engines.reload("llm", llm_model="/m/other.gguf"))
        return first, new, engines.llm, settings.llm_model, list(log)

    (first, new, current, setting, log), statuses, threads = _run(scenario)
    assert current is new and new.name == "/m/other.gguf" and setting == "/m/other.gguf"
    assert first.closed and not new.closed
    assert log == ["created default", "created /m/other.gguf", "closed default"]
    assert [s for s, _ in statuses] == ["loading", "ready", "loading", "ready"]
    assert statuses[-1][1] == "/m/other.gguf"
    assert all(t.startswith("parley-llm") for t in threads)  # never the loop's thread


@pytest.mark.parametrize("model", ["/m/broken.gguf", "/m/crash.gguf"])
def test_failed_reload_keeps_the_old_model_and_the_settings(model):
    async def scenario(engines: Engines, settings: Settings, log: list[str]) -> Any:
        first = engines.llm
        with pytest.raises(ModelError) as err:
            await asyncio.wrap_future(engines.reload("llm", llm_model=model, llm_mmproj="x"))
        # Still answers, on the old model.
        reply = await engines.workers["llm"].run(
            lambda: "".join(engines.require("llm").stream_chat([], 8, 0.0))
        )
        return first, engines.llm, settings, str(err.value), reply, engines.errors

    (first, current, settings, message, reply, errors), statuses, _ = _run(scenario)
    assert current is first and not first.closed
    assert reply.strip() == "I am default."
    assert settings.llm_model == "" and settings.llm_mmproj == ""  # untouched
    assert model in message or "native library said no" in message
    assert "llm" not in errors  # the engine is not "unavailable": the old one works
    states = [s for s, _ in statuses]
    assert states == ["loading", "ready", "loading", "error", "ready"]
    assert statuses[3][1].endswith("Still using default.")


def test_reply_in_progress_finishes_on_the_old_model():
    async def scenario(engines: Engines, settings: Settings, log: list[str]) -> Any:
        old = engines.llm
        old.token_delay = 0.02
        old.reply = "one two three four five six"
        started = threading.Event()

        def reply() -> str:
            started.set()
            return "".join(old.stream_chat([], 8, 0.0))

        running = engines.workers["llm"].submit(reply)
        started.wait(5)
        swap = engines.reload("llm", llm_model="/m/next.gguf")
        text = await asyncio.wrap_future(running)
        await asyncio.wrap_future(swap)
        return text, list(log)

    (text, log), _, _ = _run(scenario)
    assert text.split() == ["one", "two", "three", "four", "five", "six"]
    assert log.index("closed default") > log.index("created /m/next.gguf")


def test_unknown_setting_is_a_programming_error():
    async def scenario(engines: Engines, settings: Settings, log: list[str]) -> Any:
        with pytest.raises(ValueError, match="llm_modle"):
            engines.reload("llm", llm_modle="typo")

    _run(scenario)
