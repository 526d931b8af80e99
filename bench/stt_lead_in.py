"""Whisper with and without the quiet put before the audio (app/stt/whisper.py, LEAD_SAMPLES),
side by side: how often a question of two or three sentences comes back whole, and the word
error rate, when the speech starts at the first sample (talking as the key goes down, or
cut 30 ms into the first word by a microphone that opened late) and when the person waited
0.3 s before speaking.

Each question is spoken by espeak-ng at two speeds and by piper; "whole" is a transcript with
at least three quarters of the question's words (a dropped sentence takes a third or more).

    .venv/bin/python bench/stt_lead_in.py [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import jiwer
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.audio.capture import STT_RATE  # noqa: E402
from app.audio.resample import resample  # noqa: E402
from app.audio.wavfile import read_audio  # noqa: E402
from app.config import Settings  # noqa: E402
from app.stt import whisper  # noqa: E402
from app.stt.factory import create_stt  # noqa: E402
from app.tts.factory import create_tts  # noqa: E402

QUESTIONS = [
    "A ticket costs twelve dollars. How much do five tickets cost?",
    "I have three apples. My friend gives me four more. How many apples do I have now?",
    "The train is late. Should I take a taxi instead?",
    "It is raining in London. What should I wear today?",
    "A box holds six eggs. How many eggs are in four boxes?",
    "My dog is five years old. How old is that in dog years?",
    "Paris is the capital of France. What is the capital of Spain?",
    "I bought a shirt for twenty dollars. It was on sale for half price. What was the price?",
    "My flight leaves at nine. It takes two hours. When do I land?",
    "Water boils at one hundred degrees. At what temperature does it freeze?",
    "A car drives sixty miles an hour. How far does it go in three hours?",
    "Each bag has eight oranges. I buy seven bags. How many oranges is that?",
    "Anna is taller than Ben. Ben is taller than Carl. Who is the shortest?",
    "An hour has sixty minutes. How many minutes are in a day?",
    "A pizza has eight slices. We are four people. How many slices does each get?",
    "I wake up at seven. I need nine hours of sleep. When should I go to bed?",
    "Apples cost two dollars a pound. How much are three pounds?",
    "Our meeting is on Monday. It was moved two days later. Which day is it now?",
    "A week has seven days. How many days are in six weeks?",
    "Everyone is hungry. Where can we eat near here?",
]
STARTS = {"at the first sample": 0.0, "30 ms into the word": -0.03, "after 0.3 s": 0.3}
LEADS = {"without": 0, "with": whisper.LEAD_SAMPLES}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.casefold())


def voices(folder: Path) -> dict[str, list[np.ndarray]]:
    tts = create_tts(Settings())
    spoken: dict[str, list[np.ndarray]] = {"espeak 150": [], "espeak 175": [], "piper": []}
    for question in QUESTIONS:
        for wpm in (150, 175):
            path = folder / "say.wav"
            subprocess.run(["espeak-ng", "-s", str(wpm), "-w", str(path), question], check=True)
            samples, rate = read_audio(path)
            spoken[f"espeak {wpm}"].append(resample(samples, rate, STT_RATE))
        chunks = list(tts.synthesize(question))
        spoken["piper"].append(resample(np.concatenate(chunks), tts.sample_rate, STT_RATE))
    for audios in spoken.values():  # from the first loud sample to the last
        for i, audio in enumerate(audios):
            loud = np.flatnonzero(np.abs(audio) > 0.02)
            audios[i] = audio[loud[0] : loud[-1] + 1].astype(np.float32)
    return spoken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/stt-lead-in.json"))
    args = parser.parse_args()
    stt = create_stt(Settings())
    with tempfile.TemporaryDirectory() as tmp:
        spoken = voices(Path(tmp))
    rows: list[dict] = []
    for voice, audios in spoken.items():
        for question, audio in zip(QUESTIONS, audios, strict=True):
            for start, offset in STARTS.items():
                clip = audio[int(-offset * STT_RATE) :] if offset < 0 else audio
                if offset > 0:
                    clip = np.concatenate([np.zeros(int(offset * STT_RATE), np.float32), clip])
                for lead, samples in LEADS.items():  # side by side, same clip
                    whisper.LEAD_SAMPLES = samples
                    text = stt.transcribe(clip)
                    whole = len(words(text)) >= 0.75 * len(words(question))
                    rows.append({"voice": voice, "start": start, "lead": lead,
                                 "question": question, "heard": text, "whole": whole})  # fmt: skip
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for start in STARTS:
        for lead in LEADS:
            sel = [r for r in rows if r["start"] == start and r["lead"] == lead]
            wer = jiwer.wer([" ".join(words(r["question"])) for r in sel],
                            [" ".join(words(r["heard"])) or "-" for r in sel])  # fmt: skip
            whole = sum(r["whole"] for r in sel)
            summary.setdefault(start, {})[lead] = {"whole": whole, "of": len(sel), "wer": wer}
            print(f"speech {start:>20}, {lead:>7} the lead-in: whole {whole}/{len(sel)}, "
                  f"WER {wer:.3f}")  # fmt: skip
    for r in rows:
        if not r["whole"]:
            print(f"  not whole ({r['voice']}, {r['start']}, {r['lead']}): {r['heard']!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
