"""`first_audio` over N short spoken questions: from the end of the user's speech (key
released) to the first sample of the reply reaching the speaker.

The questions are spoken by espeak-ng, captured through the recorder from the fake audio
device at real-time pace (as if the key were held while speaking), and the reply is played
to the fake speaker by the real player. All engines are the offline defaults, loaded and
warmed up before the first question. Prints per-question timings and medians as JSON.

    .venv/bin/python bench/first_audio.py [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from app.audio.fake import FakeAudioBackend
from app.bus import EventBus
from app.bus.events import TurnFinished
from app.config import Settings
from app.session import Session

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What color is the sky on a clear day?",
    "Who wrote Romeo and Juliet?",
    "What is two plus three?",
]


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(path), text], check=True)
    return path


async def run(questions: list[str]) -> list[dict[str, object]]:
    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    settings = Settings()
    settings.sound_cues = False
    backend = FakeAudioBackend()
    session = Session(settings, bus, backend=backend)
    session.start()
    await loop.run_in_executor(None, session.engines.wait)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, question in enumerate(questions):
            wav = speak(question, Path(tmp) / f"q{i}.wav")
            finished: asyncio.Future[TurnFinished] = loop.create_future()
            unsubscribe = bus.subscribe(
                TurnFinished, lambda e, f=finished: f.done() or f.set_result(e)
            )
            recorder = session.recorder
            assert recorder is not None
            turn_id = session.turns.begin_listening(recorder)
            recorder.start()
            backend.feed(wav)
            while backend.pending_input_seconds() > 0:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # the key is released a moment after the last word
            session.turns.submit_audio(turn_id, recorder.stop())
            done = await asyncio.wait_for(finished, 120)
            unsubscribe()
            results.append(
                {
                    "question": question,
                    "transcript": done.transcript,
                    "reply": done.reply,
                    **done.timings,
                }
            )
            print(json.dumps(results[-1]), file=sys.stderr)
    session.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run(QUESTIONS))
    keys = ("stt", "llm_first_token", "llm_total", "tts_first_audio", "first_audio")
    summary = {
        "median": {
            k: round(statistics.median(r[k] for r in results if r[k] is not None), 3) for k in keys
        },
        "runs": results,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
