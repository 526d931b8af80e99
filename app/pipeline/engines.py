"""Load the three engines in the background, each on its own worker thread, and report status.

A job submitted to a worker while its engine is still loading simply waits behind the load,
so a question asked during start-up is answered as soon as the model is ready. `reload`
swaps an engine for one made from changed settings (another model, voice or language) the
same way, on its worker, keeping the old one until the new one is ready.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from app.bus import EventBus
from app.bus.events import EngineName, EngineStatus
from app.bus.worker import Worker
from app.config import Settings
from app.cpu_load import OtherLoad
from app.llm.base import ChatModel
from app.logs import unexpected
from app.models.assemble import Progress
from app.models.errors import ModelError
from app.stt.base import SpeechToText
from app.tts.base import TextToSpeech

log = logging.getLogger(__name__)

SttFactory = Callable[[Settings], SpeechToText]
LlmFactory = Callable[[Settings, Progress | None], ChatModel]
TtsFactory = Callable[[Settings], TextToSpeech]


def _default_stt(settings: Settings) -> SpeechToText:
    from app.stt.factory import create_stt

    return create_stt(settings)


def _default_llm(settings: Settings, progress: Progress | None) -> ChatModel:
    from app.llm.factory import create_llm

    return create_llm(settings, progress)


def _default_tts(settings: Settings) -> TextToSpeech:
    from app.tts.factory import create_tts

    return create_tts(settings)


def release_engine(engine: Any) -> None:
    """Free an engine's native memory now (llama.cpp models hold gigabytes) rather than
    whenever the garbage collector gets to it."""
    close = getattr(engine, "close", None)
    if callable(close):
        close()


class EngineUnavailable(Exception):
    """The engine a turn needs failed to load; the message says why."""


_WHAT = {"stt": "speech recogniser", "llm": "language model", "tts": "voice"}
_NOT_LOADED = {
    "stt": "The speech recogniser is not loaded.",
    "llm": "The language model is not loaded.",
    "tts": "The voice is not loaded.",
}


@dataclass
class Engines:
    bus: EventBus
    settings: Settings
    stt_factory: SttFactory = _default_stt
    llm_factory: LlmFactory = _default_llm
    tts_factory: TtsFactory = _default_tts
    warm_up: bool = True
    # `parley ask` sends its question at once: warming a remote model first would only double
    # the wait on a server that never answers (2 minutes, then 2 more).
    warm_remote: bool = True
    release: Callable[[Any], None] = release_engine  # frees an engine `reload` replaced
    stt: SpeechToText | None = None
    llm: ChatModel | None = None
    tts: TextToSpeech | None = None
    errors: dict[str, str] = field(default_factory=dict)
    load_seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workers = {name: Worker(name) for name in ("stt", "llm", "tts", "vision")}
        self.other_load = OtherLoad()  # other programs' use of the cores
        self._loads: dict[str, Future[None]] = {}
        self._reader: Any = None

    def worker(self, name: EngineName | str) -> Worker:
        return self.workers[name]

    def start(self, which: tuple[EngineName, ...] = ("llm", "stt", "tts")) -> None:
        """Begin loading in the background; EngineStatus events report progress."""
        for name in which:
            if name not in self._loads:
                self._loads[name] = self.workers[name].submit(self._load, name)

    def wait(self, timeout: float | None = None) -> None:
        for fut in list(self._loads.values()):
            fut.result(timeout)

    def require(self, name: EngineName) -> Any:
        """The loaded engine, or EngineUnavailable saying why not (call on its worker, where
        its load has already run)."""
        engine = getattr(self, name)
        if engine is None:
            raise EngineUnavailable(self.errors.get(name, _NOT_LOADED[name]))
        return engine

    def image_reader(self) -> Any:
        """The offline image reader (OCR), created on first use; call on the vision worker."""
        if self._reader is None:
            from app.vision.ocr import ImageReader

            self._reader = ImageReader(threads=self.settings.llm_threads)
        return self._reader

    # On two cores a thread more than there are cores is not a little slower but several
    # times slower: llama.cpp's threads wait for each other in a spin barrier at every step,
    # so one of them losing its core to piper or whisper stalls both (measured here: 25
    # tokens/s alone, 6 with piper synthesising; with one thread 14 and piper unslowed). So
    # the LLM takes every core only while no other engine computes, and piper takes every core
    # only while the LLM does not (the first clause, while the LLM holds back for it).
    # `share_cpu = False` gives every engine its fixed thread count (bench/levers.py).

    share_cpu: bool = True

    def warm_system_prompt(self, settings: Settings) -> str:
        """The system prompt the LLM's warm-up leaves in its KV cache: the one turns will use
        (the turn manager replaces this to add the tools' descriptions)."""
        return settings.system_prompt

    def llm_threads_now(self) -> int:
        cores = os.cpu_count() or 1
        if not self.share_cpu:
            return cores
        others = sum(self.workers[n].busy for n in ("stt", "tts", "vision"))
        # Other programs' work counts too (app/cpu_load.py): with one of two cores busy
        # elsewhere, one thread generated a median 1.8 times the tokens per second of two.
        return max(1, cores - others - self.other_load.whole_cores())

    def tts_threads_now(self) -> int:
        cores = os.cpu_count() or 1
        if not self.share_cpu:
            return cores
        busy = self.workers["llm"].busy or self.workers["stt"].busy
        return 1 if busy else max(1, cores - self.other_load.whole_cores())

    def is_loaded(self, name: EngineName) -> bool:
        fut = self._loads.get(name)
        return fut is not None and fut.done()

    def _status(
        self, name: EngineName, state: str, detail: str = "", progress: float | None = None
    ) -> None:
        self.bus.publish_threadsafe(
            EngineStatus(engine=name, state=state, detail=detail, progress=progress)  # type: ignore[arg-type]
        )

    def _progress(self, name: EngineName) -> Progress:
        last = [0.0]

        def progress(fraction: float, what: str) -> None:
            now = time.monotonic()
            if now - last[0] > 0.2 or fraction >= 1.0:  # a few updates a second is plenty
                last[0] = now
                self._status(name, "loading", f"{what} the model", fraction)

        return progress

    def _create(self, name: EngineName, settings: Settings) -> Any:
        """A new, warmed-up engine from `settings` (on the engine's worker)."""
        engine: Any
        if name == "stt":
            engine = self.stt_factory(settings)
        elif name == "llm":
            engine = self.llm_factory(settings, self._progress(name))
        else:
            engine = self.tts_factory(settings)
        if hasattr(engine, "threads_now"):  # local engines share the cores (see below)
            engine.threads_now = self.llm_threads_now if name == "llm" else self.tts_threads_now
        if self.warm_up and name == "llm" and settings.llm_url and not self.warm_remote:
            engine.warm_up(chat=False)  # the server's model, context and key checked only
        elif self.warm_up and hasattr(engine, "warm_up"):
            # The first inference pays one-off costs: pay them now, not mid-turn.
            if "system_prompt" in inspect.signature(engine.warm_up).parameters:
                engine.warm_up(system_prompt=self.warm_system_prompt(settings))
            else:
                engine.warm_up()
        return engine

    @staticmethod
    def _failure(name: EngineName, exc: Exception) -> str:
        if isinstance(exc, ModelError):
            log.info("loading %s failed", name, exc_info=exc)  # the cause, for a bug report
            return str(exc)
        if isinstance(exc, OSError) and exc.strerror:  # a full disk, a file where a folder goes
            log.warning("loading %s failed", name, exc_info=exc)
            where = f" ({exc.filename})" if exc.filename else ""
            return (
                f"Could not start the {name.upper()} engine: {exc.strerror}{where}. Check that "
                "folder's permissions and free space, or set PARLEY_DATA_DIR to another folder."
            )
        # An engine library failing in a way we did not foresee.
        log.error("loading %s failed", name, exc_info=exc)
        return f"Could not start the {_WHAT[name]}: {unexpected(exc)}."

    def _load(self, name: EngineName) -> None:
        self._status(name, "loading")
        started = time.monotonic()
        try:
            engine = self._create(name, self.settings)
        except Exception as exc:
            message = self.errors[name] = self._failure(name, exc)
            self._status(name, "error", message)
            return
        setattr(self, name, engine)
        self.load_seconds[name] = time.monotonic() - started
        self._status(name, "ready", getattr(engine, "name", ""))

    def reload(self, name: EngineName, persist: bool = True, **changes: Any) -> Future[Any]:
        """Re-create engine `name` on its worker from the settings with `changes` applied.

        Jobs already queued on that worker (a reply being generated) finish on the old engine;
        jobs submitted later wait behind the load. The new engine replaces the old one only
        once it is ready: then `changes` are written into the settings and the old engine is
        released. If it fails, the old engine stays in use, the settings are untouched, an
        `error` status says why (then `ready` again for the old one), and the future raises
        ModelError with the message. `persist=False`: the settings are left as they are (an
        assistant's own voice or model, for as long as it is chosen).
        """
        unknown = [key for key in changes if not hasattr(self.settings, key)]
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        return self.workers[name].submit(self._reload, name, changes, persist)

    def _reload(self, name: EngineName, changes: dict[str, Any], persist: bool = True) -> Any:
        candidate = replace(self.settings, **changes)
        old = getattr(self, name)
        self._status(name, "loading")
        started = time.monotonic()
        try:
            engine = self._create(name, candidate)
        except Exception as exc:
            message = self._failure(name, exc)
            if old is None:
                self.errors[name] = message
                self._status(name, "error", message)
            else:
                kept = getattr(old, "name", "") or "the previous one"
                self._status(name, "error", f"{message} Still using {kept}.")
                self._status(name, "ready", getattr(old, "name", ""))
            raise ModelError(message) from exc
        if persist:
            for key, value in changes.items():
                setattr(self.settings, key, value)
        setattr(self, name, engine)
        self.errors.pop(name, None)
        self.load_seconds[name] = time.monotonic() - started
        if old is not None and old is not engine:
            try:
                self.release(old)
            except Exception:  # the new engine works; a failed clean-up must not undo that
                log.exception("releasing the previous %s engine failed", name)
        self._status(name, "ready", getattr(engine, "name", ""))
        return engine

    def shutdown(self) -> None:
        for w in self.workers.values():
            w.shutdown(wait=False)
