"""Calculations with and without tools, on the default model, side by side in one run.

The problems come from tests/problems.py (multiplication, percentages, division, roots,
word problems, weekdays; exact answers known). Each is asked as a typed question through the
real turn manager with the voice on (first_audio: ask to the first reply sample), with the
tools as shipped (a question that reads like a calculation gets a tool call, constrained by a
grammar) and without, in rotating order (`--only think,tools+think,...` adds thinking
first). Reports accuracy per kind and overall, and first-audio medians, for each one.
`--set units`: word problems asked in a unit (tests/problems.unit_problems), where a reply
counts only if it states the answer with the question's unit ("22 litres", not "22"), and
whether the turn kept a reasoning scratchpad (with think-first) is counted too.

    .venv/bin/python bench/reasoning.py [--each 8] [--set units] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bus.events import ReasoningDone, ToolUsed, TurnFinished  # noqa: E402
from app.cli.say_output import WavSink  # noqa: E402
from app.session import Session  # noqa: E402
from bench.latency import fresh_cache, load_engines  # noqa: E402
from tests.problems import correct, problems, states_unit, unit_problems  # noqa: E402


async def turn(settings, engines, question: str, tmp: Path) -> dict:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    bus = engines.bus
    session = Session(settings, bus, engines=engines, sink=WavSink(bus, tmp / "reply.wav"))
    done: asyncio.Future[TurnFinished] = loop.create_future()
    tools: list[str] = []
    notes: list[str] = []
    off = [
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e)),
        bus.subscribe(ToolUsed, lambda e: tools.append(e.chip)),
        bus.subscribe(ReasoningDone, lambda e: notes.append(e.text)),
    ]
    session.turns.ask(question)
    result = await asyncio.wait_for(done, 180)
    for unsubscribe in off:
        unsubscribe()
    session.close(keep_engines=True)  # the models serve the next turn
    return {"reply": result.reply, "first_audio": result.timings["first_audio"], "tools": tools,
            "reasoning": "\n".join(notes)}  # fmt: skip


async def main_async(each: int, tmp: Path, only: list[str], units: bool = False) -> dict:
    base, engines = await load_engines()
    base.llm_max_tokens = 96
    configs = {
        "tools": replace(base, tools=True),
        "plain": replace(base, tools=False),
        "think": replace(base, tools=False, think_first=True),
        "tools+think": replace(base, tools=True, think_first=True),
    }
    configs = {name: configs[name] for name in only or ["tools", "plain"]}
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    items = unit_problems() if units else problems(each)
    for i, problem in enumerate(items):
        names = list(configs)
        order = names[i % len(names) :] + names[: i % len(names)]  # no config always first
        line = []
        for name in order:
            settings = configs[name]
            await fresh_cache(settings, engines)
            result = await turn(settings, engines, problem.question, tmp)
            result |= {"kind": problem.kind, "answer": problem.answer}
            result["correct"] = (states_unit if units else correct)(problem, result["reply"])
            runs[name].append(result)
            line.append(
                f"{name} {'ok' if result['correct'] else 'WRONG'} {result['first_audio']:.2f}s"
            )
        print(f"{problem.question!r} ({problem.answer}): " + ", ".join(line), file=sys.stderr)
    engines.shutdown()
    table = {}
    for name, results in runs.items():
        kinds = sorted({r["kind"] for r in results})
        table[name] = {
            "accuracy": round(sum(r["correct"] for r in results) / len(results), 3),
            "by_kind": {
                k: round(
                    sum(r["correct"] for r in results if r["kind"] == k)
                    / sum(1 for r in results if r["kind"] == k),
                    3,
                )
                for k in kinds
            },
            "first_audio_median": round(
                statistics.median(r["first_audio"] for r in results if r["first_audio"]), 3
            ),
            "used_a_tool": sum(bool(r["tools"]) for r in results),
            "reasoned": sum(bool(r["reasoning"].strip()) for r in results),
        }
    return {"problems": len(items), "results": table, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--each", type=int, default=8, help="problems of each of 8 kinds")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--set", choices=("generated", "units"), default="generated", help="which problems"
    )
    parser.add_argument(
        "--only", default="", help="configurations: tools, plain, think, tools+think (comma)"
    )
    args = parser.parse_args()
    only = [name for name in args.only.split(",") if name]
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(main_async(args.each, Path(tmp), only, args.set == "units"))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
