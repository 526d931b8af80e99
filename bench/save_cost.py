"""What saving the conversation costs a spoken turn, side by side in one run.

Each spoken question (as bench/latency.py) runs through the streaming pipeline twice, with
a conversation store (SQLite, as the app) and without, in alternating order, from the same
KV-cache state. Reports first_audio medians for both, and the time spent in the store's
writes during the turns (the question is saved on the loop before the LLM starts, the reply
after it ends).

    .venv/bin/python bench/save_cost.py [--n 10] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.storage.chats import ChatStore  # noqa: E402
from bench.latency import QUESTIONS, fresh_cache, load_engines, speak, streaming  # noqa: E402


async def main_async(n: int, tmp: Path) -> dict:
    settings, engines = await load_engines()
    store = ChatStore(tmp / "history")
    writes: list[float] = []
    add = store.add_message

    def timed_add(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        t0 = time.perf_counter()
        try:
            return add(*args, **kwargs)
        finally:
            writes.append(time.perf_counter() - t0)

    store.add_message = timed_add  # type: ignore[method-assign]
    runs: dict[str, list[float]] = {"store": [], "none": []}
    for i, question in enumerate((QUESTIONS * 3)[:n]):
        audio = speak(question, tmp / f"q{i}.wav")
        order = ["store", "none"] if i % 2 == 0 else ["none", "store"]
        line = []
        for name in order:
            await fresh_cache(settings, engines)
            turn = await streaming(
                settings, engines, audio, tmp, store if name == "store" else None
            )
            runs[name].append(turn["first_audio"])
            line.append(f"{name} {turn['first_audio']:.3f}")
        print(f"{question!r}: " + ", ".join(line), file=sys.stderr)
    engines.shutdown()
    store.close()
    med = {k: round(statistics.median(v), 3) for k, v in runs.items()}
    pairs = [a - b for a, b in zip(runs["store"], runs["none"], strict=True)]
    return {
        "n": n,
        "first_audio_median": med,
        "paired_difference_median": round(statistics.median(pairs), 4),
        "store_writes": len(writes),
        "store_write_ms_median": round(statistics.median(writes) * 1000, 3),
        "store_write_ms_max": round(max(writes) * 1000, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(main_async(args.n, Path(tmp)))
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
