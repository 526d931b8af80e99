"""What each latency lever gives on this CPU, side by side in one run.

Every spoken question (espeak-ng, as bench/latency.py) goes through the streaming pipeline
(the file fed through the capture path at real-time pace, key held) once per configuration,
configurations interleaved question by question so all see the same machine:

  all           the app as it ships
  -llm-threads  the LLM keeps every core even while piper or whisper computes
  -stt-1thread  whisper on CTranslate2's default four threads
  -piper-nospin piper on one onnxruntime session with its defaults (all cores, spin-waiting)
  -clause-ahead the speculative reply's first clause is not synthesised while the key is held
  -speculation  no reply started before release at all (nor its first clause)
  -first-cut    the first chunk is not cut after 5 words (before a phrase-starting word)
  -number-cut   the first chunk is not cut before a long number ("384,400")
  first-cut-N   the first chunk cut after N words instead of 5 (not in the default run)
  before        all of the above off: the pipeline before these levers

`--only NAME,NAME` runs just those configurations.

Prints the median, p90 and max of first_audio (release to the first reply sample) for each,
and writes every turn's waterfall as JSON.

    .venv/bin/python bench/levers.py [--n 10] [--out artifacts/levers.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.models.defaults import default_voice  # noqa: E402
from app.models.speech import resolve_stt_model  # noqa: E402
from app.pipeline import sentences  # noqa: E402
from app.stt.whisper import WhisperSTT  # noqa: E402
from bench.latency import (  # noqa: E402
    QUESTIONS,
    fresh_cache,
    load_engines,
    speak,
    streaming,
    summary,
)


class DefaultPiper:
    """piper as PiperVoice.load makes it: one session, onnxruntime's default threads and
    spin-waiting (how Parley ran it before)."""

    def __init__(self) -> None:
        from piper import PiperVoice

        model, config = default_voice()
        self.voice = PiperVoice.load(model, config_path=config)
        self.name = "piper-defaults"
        self.sample_rate = int(self.voice.config.sample_rate)

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for chunk in self.voice.synthesize(text):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)

    def warm_up(self) -> None:
        for _ in self.synthesize("Ready."):
            pass


CONFIGS: dict[str, dict[str, Any]] = {
    "all": {},
    "-llm-threads": {"share_cpu": False},
    "-stt-1thread": {"stt": "default"},
    "-piper-nospin": {"tts": "default"},
    "-clause-ahead": {"speculative_audio": False},
    "-speculation": {"speculative_replies": False, "speculative_audio": False},
    "-first-cut": {"tts_first_max_words": 0},
    "first-cut-4": {"tts_first_max_words": 4},
    "first-cut-3": {"tts_first_max_words": 3},
    "-number-cut": {"number_cut": False},
    "before": {
        "tts_first_max_words": 0,
        "number_cut": False,
        "share_cpu": False,
        "stt": "default",
        "tts": "default",
        "speculative_audio": False,
    },
}


_LONG_NUMBER = sentences._LONG_NUMBER
_NEVER = re.compile(r"(?!)")


async def main_async(n: int, tmp: Path, only: list[str]) -> dict:
    base, engines = await load_engines()
    ours = {"stt": engines.stt, "tts": engines.tts}
    defaults = {
        # CTranslate2's own default, as Parley passed it before (threads=0).
        "stt": await engines.worker("stt").run(lambda: WhisperSTT(resolve_stt_model(""), 0)),
        "tts": await engines.worker("tts").run(DefaultPiper),
    }
    for name, engine in defaults.items():
        await engines.worker(name).run(engine.warm_up)
    default = [name for name in CONFIGS if not name.startswith("first-cut-")]
    configs = {name: CONFIGS[name] for name in only or default}
    results: dict[str, list[dict]] = {name: [] for name in configs}
    for i, question in enumerate((QUESTIONS * 3)[:n]):
        audio = speak(question, tmp / f"q{i}.wav")
        line = []
        names = list(configs)
        names = names[i % len(names) :] + names[: i % len(names)]  # no config always first
        for name in names:
            config = configs[name]
            # Every turn starts from the KV cache as after start-up: the previous
            # configuration's turn on this question must not leave it cached for the next.
            await fresh_cache(base, engines)
            settings = replace(
                base,
                speculative_replies=config.get("speculative_replies", True),
                speculative_audio=config.get("speculative_audio", True),
                tts_first_max_words=config.get("tts_first_max_words", base.tts_first_max_words),
            )
            sentences._LONG_NUMBER = _LONG_NUMBER if config.get("number_cut", True) else _NEVER
            engines.share_cpu = config.get("share_cpu", True)
            engines.stt = defaults["stt"] if config.get("stt") else ours["stt"]
            engines.tts = defaults["tts"] if config.get("tts") else ours["tts"]
            turn = await streaming(settings, engines, audio, tmp)
            results[name].append(turn)
            line.append(f"{name} {turn['first_audio']:.3f}")
        print(f"{question!r}: " + ", ".join(line), file=sys.stderr)
    engines.shutdown()
    table = {name: summary([t["first_audio"] for t in turns]) for name, turns in results.items()}
    return {"n": n, "first_audio": table, "runs": results}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", default="", help="comma-separated configuration names")
    args = parser.parse_args()
    only = [name for name in args.only.split(",") if name]
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(main_async(args.n, Path(tmp), only))
    print(f"{'configuration':14s} {'median':>7s} {'p90':>7s} {'max':>7s}  max/median")
    for name, s in result["first_audio"].items():
        ratio = s["max"] / s["median"] if s["median"] else float("inf")
        print(f"{name:14s} {s['median']:7.3f} {s['p90']:7.3f} {s['max']:7.3f}  {ratio:5.2f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
