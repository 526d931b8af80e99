"""LLM speed with the weights repacked for AVX (what Parley uses on AMX CPUs) against the plain
layout (extra buffer types off, the only other choice that does not crash there).

Both models are loaded in this process and measured alternately on the same prompt: prompt
tokens/s (a fresh 60-token prompt) and generation tokens/s (greedy, 48 tokens). Prints medians
and the ratio, and writes them as JSON.

    .venv/bin/python bench/llm_speed.py [--runs 7] [--model FILE.gguf] [--out speed.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.llm import cpu_buffers  # noqa: E402
from app.models.defaults import default_llm  # noqa: E402

PROMPT = (
    "<|im_start|>system\nYou are a helpful voice assistant. Answer briefly.<|im_end|>\n"
    "<|im_start|>user\nTell me a short story about a lighthouse keeper who finds a message in "
    "a bottle, and what the message says.<|im_end|>\n<|im_start|>assistant\n"
)


def load(path: Path, repacked: bool):  # noqa: ANN201
    from llama_cpp import Llama

    with cpu_buffers.safe_cpu_buffers(path, repack=repacked):
        return Llama(model_path=str(path), n_ctx=1024, n_threads=2, n_batch=256, verbose=False)


def measure(llm, tokens: list[int], n_gen: int) -> tuple[float, float]:  # noqa: ANN001
    llm.reset()
    start = time.perf_counter()
    llm.eval(tokens)
    prompt_tps = len(tokens) / (time.perf_counter() - start)
    start = time.perf_counter()
    n = 0
    for _ in llm.generate(tokens, reset=False, temp=0.0):
        n += 1
        if n >= n_gen:
            break
    return prompt_tps, n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not cpu_buffers.needs_amx_workaround():
        raise SystemExit("no AMX here: llama.cpp's own buffer choice is used, nothing to compare")
    path = args.model or default_llm()
    models = {"repacked": load(path, True), "plain": load(path, False)}
    tokens = models["plain"].tokenize(PROMPT.encode(), special=True)
    for llm in models.values():
        measure(llm, tokens, 4)  # warm-up
    results: dict[str, dict[str, list[float]]] = {k: {"prompt": [], "gen": []} for k in models}
    for _ in range(args.runs):
        for name, llm in models.items():
            prompt_tps, gen_tps = measure(llm, tokens, 48)
            results[name]["prompt"].append(prompt_tps)
            results[name]["gen"].append(gen_tps)
    summary = {
        name: {k: round(statistics.median(v), 2) for k, v in r.items()}
        for name, r in results.items()
    }
    out = {
        "model": path.name,
        "runs": args.runs,
        "tokens_per_second": summary,
        "generation_ratio": round(summary["repacked"]["gen"] / summary["plain"]["gen"], 3),
        "prompt_ratio": round(summary["repacked"]["prompt"] / summary["plain"]["prompt"], 3),
    }
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps({**out, "all": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
