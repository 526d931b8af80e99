"""Parley's streaming pipeline against a sequential one, side by side, on the same models.

N spoken questions are generated with espeak-ng (each followed by 0.3 s of silence, the moment
a person takes to let go of the key). Each question runs through
  (a) streaming: the real turn manager; the file is fed through the capture path at
      real-time pace with the key held (live transcription at pauses), replies handed to TTS
      by clause, the system prompt and conversation kept in llama.cpp's KV cache;
  (b) sequential: transcribe everything after release, generate the whole reply, synthesise
      all of it, then play;
interleaved (a, b, a, b, ...) so both see the same machine. `first_audio` is from the end of
the question's audio (key released) to the first sample of reply audio ready to play.
Prints medians, p90 and the ratio, and writes the figures as JSON.

    .venv/bin/python bench/latency.py [--n 8] [--out bench-latency.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.audio.capture import STT_RATE  # noqa: E402
from app.audio.resample import resample  # noqa: E402
from app.audio.wavfile import read_audio  # noqa: E402
from app.bus import EventBus  # noqa: E402
from app.bus.events import TurnFinished  # noqa: E402
from app.cli.ask import _speak_in_real_time  # noqa: E402
from app.cli.say_output import WavSink  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline.engines import Engines  # noqa: E402
from app.pipeline.history import History  # noqa: E402
from app.pipeline.sentences import speakable  # noqa: E402
from app.session import Session  # noqa: E402

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Why is the sky blue?",
    "What should I cook for dinner tonight?",
    "Who wrote Romeo and Juliet?",
    "How do I make a cup of tea?",
    "What is the tallest mountain in the world?",
    "Can you recommend a good book?",
    "How far away is the moon?",
    "What is a healthy breakfast?",
]


def speak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-s", "165", "-w", str(path), text], check=True)
    samples, rate = read_audio(path)
    audio = resample(samples, rate, STT_RATE)
    return np.concatenate([audio, np.zeros(int(0.3 * STT_RATE), np.float32)])


async def streaming(
    settings: Settings, engines: Engines, audio: np.ndarray, tmp: Path, store: object = None
) -> dict:
    loop = asyncio.get_running_loop()
    bus = engines.bus
    sink = WavSink(bus, tmp / "streaming.wav")
    session = Session(settings, bus, engines=engines, sink=sink, store=store)  # type: ignore[arg-type]
    done: asyncio.Future[TurnFinished] = loop.create_future()
    unsubscribe = bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
    await _speak_in_real_time(session, audio)
    result = await asyncio.wait_for(done, 120)
    unsubscribe()
    session.close(keep_engines=True)  # the models serve the next turn
    waterfall = {k: v for k, v in result.timings.items() if k.startswith("t_")}
    return {"first_audio": result.timings["first_audio"], "stt": result.timings["stt"],
            "first_token": result.timings["t_first_token"], "waterfall": waterfall,
            "transcript": result.transcript, "reply": result.reply}  # fmt: skip


async def sequential(settings: Settings, engines: Engines, audio: np.ndarray) -> dict:
    """Each stage on its own engine's worker, as in the app, one after the other."""
    stt, llm, tts = engines.stt, engines.llm, engines.tts
    released = time.monotonic()
    text = await engines.worker("stt").run(stt.transcribe, audio)
    transcribed = time.monotonic()

    def generate() -> str:
        history = History(settings.system_prompt, [{"role": "user", "content": text}])
        prompt = history.prompt(llm.count_tokens, llm.context_size, settings.llm_max_tokens)
        return "".join(llm.stream_chat(prompt, settings.llm_max_tokens, settings.llm_temperature))

    reply = await engines.worker("llm").run(generate)
    samples = await engines.worker("tts").run(
        lambda: np.concatenate(list(tts.synthesize(speakable(reply))))
    )
    ready = time.monotonic()
    assert samples.size
    return {"first_audio": ready - released, "stt": transcribed - released, "reply": reply}


async def fresh_cache(settings: Settings, engines: Engines) -> None:
    """The KV cache as after start-up (the system prompt and a greeting), so neither pipeline
    finds the question already evaluated by the other's run on it."""
    await engines.worker("llm").run(engines.llm.warm_up, engines.warm_system_prompt(settings))


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {"median": round(statistics.median(ordered), 3), "p90": round(p90, 3),
            "min": round(ordered[0], 3), "max": round(ordered[-1], 3)}  # fmt: skip


async def load_engines() -> tuple[Settings, Engines]:
    """The benchmarks' settings (no chimes, greedy replies) and the default engines, loaded."""
    loop = asyncio.get_running_loop()
    settings = Settings()
    settings.sound_cues = False
    settings.llm_temperature = 0.0
    engines = Engines(EventBus(loop), settings)
    engines.start()
    await loop.run_in_executor(None, engines.wait)
    if engines.errors:
        raise SystemExit(f"models failed to load: {engines.errors}")
    return settings, engines


async def main_async(n: int) -> dict:
    settings, engines = await load_engines()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, question in enumerate((QUESTIONS * 3)[:n]):
            audio = speak(question, Path(tmp) / f"q{i}.wav")
            await fresh_cache(settings, engines)
            a = await streaming(settings, engines, audio, Path(tmp))
            await fresh_cache(settings, engines)
            b = await sequential(settings, engines, audio)
            runs.append({"question": question, "streaming": a, "sequential": b})
            print(f"{question!r}: streaming {a['first_audio']:.3f} s, sequential "
                  f"{b['first_audio']:.3f} s", file=sys.stderr)  # fmt: skip
    engines.shutdown()
    s = summary([r["streaming"]["first_audio"] for r in runs])
    q = summary([r["sequential"]["first_audio"] for r in runs])
    return {
        "n": len(runs),
        "first_audio_streaming": s,
        "first_audio_sequential": q,
        "ratio_median": round(s["median"] / q["median"], 3),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.n))
    text = json.dumps(result, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
