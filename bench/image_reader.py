"""OCR plus answer time for images on the default (text-only) model, and the answers.

For each test image (a 1920x1080 screenshot, a receipt, an error dialog, a note carrying a
prompt injection) it runs one typed turn with the image attached through the real pipeline
and reports: decode, OCR, first token, whole reply, and the reply itself. Runs each image
--runs times (medians); the models are loaded once, before timing.

    .venv/bin/python bench/image_reader.py [--runs 3] [--out results.json]
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

from app.bus import EventBus  # noqa: E402
from app.bus.events import TurnFinished  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline.attachments import load_attachment  # noqa: E402
from app.pipeline.engines import Engines  # noqa: E402
from app.pipeline.turns import TurnManager  # noqa: E402
from tests import image_factory  # noqa: E402

CASES = [
    ("screenshot", image_factory.screenshot, "What is this screenshot about?"),
    ("receipt", image_factory.receipt, "What is the total on this receipt?"),
    ("dialog", image_factory.dialog, "What does this error message say?"),
    ("injection", image_factory.injection, "Summarise this image."),
]


async def run(runs: int, folder: Path) -> list[dict[str, object]]:
    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    settings = Settings()
    settings.llm_max_tokens = 80
    settings.llm_temperature = 0.0
    engines = Engines(bus, settings)
    engines.start(("llm",))
    await loop.run_in_executor(None, engines.wait)
    await engines.worker("vision").run(lambda: engines.image_reader().load())
    results = []
    for name, make, question in CASES:
        path = make(folder)
        samples: list[dict[str, float]] = []
        reply = ""
        for _ in range(runs):
            turns = TurnManager(bus, engines, settings, sink=None)
            started = time.monotonic()
            image = load_attachment(path)
            decoded = time.monotonic()
            ocr = await engines.worker("vision").run(
                lambda img=image: engines.image_reader().read(img)
            )
            done: asyncio.Future[TurnFinished] = loop.create_future()
            unsubscribe = bus.subscribe(TurnFinished, lambda e, f=done: f.done() or f.set_result(e))
            asked = time.monotonic()
            turns.attach(image)
            turns.ask(question)
            result = await done
            ended = time.monotonic()
            unsubscribe()
            turns.close()
            reply = result.reply.strip()
            samples.append(
                {
                    "decode": decoded - started,
                    "ocr": ocr.seconds,
                    "first_token": result.timings["llm_first_token"] or 0.0,
                    "ocr_plus_answer": ended - asked,
                }
            )
        results.append(
            {
                "image": name,
                "size": f"{image.original_size[0]}x{image.original_size[1]}",
                "question": question,
                "reply": reply,
                **{k: round(statistics.median(s[k] for s in samples), 3) for k in samples[0]},
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr)
    engines.shutdown()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(run(args.runs, Path(tmp)))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
