"""Whisper's short window (app/stt/short_window.py) against the standard 30 s pass, for a
multilingual model with the language set: word error rate and time per pass, side by side.

Sentences in German, French, Spanish and English are spoken by espeak-ng at two speeds and
transcribed by both paths (the same 0.4 s of trailing silence Parley appends), interleaved.
For each minimum window length given, prints WER and median seconds per pass, per language,
and writes JSON.

    .venv/bin/python bench/stt_window.py [--model base] [--min-windows 10 15] [--out F.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jiwer
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.audio.capture import STT_RATE  # noqa: E402
from app.audio.resample import resample  # noqa: E402
from app.audio.wavfile import read_audio  # noqa: E402
from app.config import Settings  # noqa: E402
from app.stt import short_window  # noqa: E402
from app.stt.factory import create_stt  # noqa: E402
from app.stt.whisper import TAIL_SAMPLES  # noqa: E402

SENTENCES = {
    "de": [
        "Ich möchte gerne einen Kaffee trinken.",
        "Wie wird das Wetter morgen in Berlin?",
        "Kannst du mir ein gutes Rezept für Apfelkuchen geben?",
        "Erinnere mich bitte morgen früh an den Termin beim Zahnarzt.",
        "Wie viele Einwohner hat die Schweiz?",
        "Was ist der Unterschied zwischen einem Hasen und einem Kaninchen?",
        "Übersetze bitte diesen Satz ins Englische.",
        "Warum ist der Himmel blau?",
    ],
    "fr": [
        "Quelle est la capitale de l'Australie?",
        "Peux-tu me donner une recette de crêpes?",
        "Quel temps fera-t-il demain à Paris?",
        "Combien de pattes a une araignée?",
        "Rappelle-moi d'appeler ma sœur ce soir.",
        "Pourquoi la mer est-elle salée?",
        "Qui a écrit Les Misérables?",
        "Je voudrais réserver une table pour deux personnes.",
    ],
    "es": [
        "¿Cuál es la capital de Argentina?",
        "¿Puedes recomendarme un buen libro?",
        "¿Qué tiempo hará mañana en Madrid?",
        "¿Cuántas patas tiene una araña?",
        "Recuérdame comprar pan y leche.",
        "¿Por qué el cielo es azul?",
        "¿Quién pintó la Mona Lisa?",
        "Me gustaría aprender a tocar la guitarra.",
    ],
    "en": [
        "What is the capital of France?",
        "How many legs does a spider have?",
        "Remind me to call my sister tomorrow morning.",
        "Can you recommend a good book?",
        "Why is the sky blue?",
        "What should I cook for dinner tonight?",
        "How far away is the moon?",
        "Who wrote Romeo and Juliet?",
    ],
}
SPEEDS = (140, 175)  # espeak-ng words per minute


def normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.casefold()).replace("’", "'").strip()


def speak(text: str, language: str, wpm: int, folder: Path) -> np.ndarray:
    path = folder / "say.wav"
    subprocess.run(["espeak-ng", "-v", language, "-s", str(wpm), "-w", str(path), text], check=True)
    samples, rate = read_audio(path)
    return resample(samples, rate, STT_RATE).astype(np.float32)


def with_tail(audio: np.ndarray) -> np.ndarray:
    """As WhisperSTT.transcribe appends it before either path."""
    return np.concatenate([audio, np.zeros(TAIL_SAMPLES, np.float32)])


def timed(fn: Callable[[np.ndarray], str | None], audio: np.ndarray) -> tuple[str, float]:
    start = time.perf_counter()
    text = fn(audio)
    return (text or ""), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--min-windows", type=float, nargs="+", default=[10.0, 15.0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/stt-window.json"))
    args = parser.parse_args()
    from faster_whisper.tokenizer import Tokenizer

    # language -> path -> (sentence, transcript, seconds) per utterance
    results: dict[str, dict[str, list[tuple[str, str, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for language, sentences in SENTENCES.items():
            settings = Settings(stt_model=args.model, stt_language=language)
            stt = create_stt(settings)
            model = stt.model  # type: ignore[attr-defined]
            tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
            # Both append the same tail; "30s" is WhisperSTT's standard pass.
            paths = {"30s": partial(stt.transcribe, short=False)}
            for w in args.min_windows:
                short = partial(short_window.transcribe_short, model, tokenizer, min_window=w)
                paths[f"short{w:g}"] = lambda a, short=short: short(with_tail(a))
            per = results[language] = {name: [] for name in paths}
            for wpm in SPEEDS:
                for sentence in sentences:
                    audio = speak(sentence, language, wpm, Path(tmp))
                    for name, fn in paths.items():
                        text, seconds = timed(fn, audio)
                        per[name].append((sentence, text, seconds))
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for language, per in results.items():
        for name, rows in per.items():
            wer = jiwer.wer([normalise(r[0]) for r in rows], [normalise(r[1]) for r in rows])
            summary.setdefault(language, {})[name] = {
                "wer": round(wer, 4),
                "median_s": round(statistics.median(r[2] for r in rows), 3),
            }
            median = summary[language][name]["median_s"]
            print(f"{language} {name:8s} WER {wer:6.1%}  median {median:.3f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"summary": summary, "runs": results}, indent=1, ensure_ascii=False)
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
