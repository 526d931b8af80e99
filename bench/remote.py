"""First-token time of the remote engine against the embedded one, on the same model.

The default model is served by llama-cpp-python's OpenAI server (`python -m app.llm.serve`, on
loopback) and also loaded in this process as the embedded engine, with the same threads and
context. Both are warmed up with the app's system prompt (so both have it in their KV cache),
then each question goes to both, in alternating order, one at a time (the two never compete
for the CPU). `first_token_s`: from the stream_chat call to the first text piece; for the
remote engine that includes HTTP, JSON and SSE on both sides. Prints JSON with the samples,
medians, the remote/embedded ratio and the median difference (the remote overhead).

    .venv/bin/python bench/remote.py [--runs 10] [--threads 1] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from app.config import DEFAULT_SYSTEM_PROMPT
from app.llm.base import ChatModel, Message
from app.llm.llama import LlamaChat
from app.llm.remote import RemoteChat
from app.models.defaults import default_llm

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What color is the sky on a clear day?",
    "Who wrote Romeo and Juliet?",
    "What is two plus three?",
]
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, threads: int, n_ctx: int, log: Path) -> tuple[subprocess.Popen, str]:
    """The server with the embedded engine's llama.cpp parameters: LlamaChat passes n_threads
    and n_batch 256, and leaves n_threads_batch at llama-cpp-python's default (all CPUs)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "app.llm.serve", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_batch", "256",
        "--n_threads", str(threads), "--n_threads_batch", str(os.cpu_count() or 1),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start in 180 s")


def one_turn(llm: ChatModel, question: str, max_tokens: int) -> dict[str, Any]:
    messages: list[Message] = [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
    started = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    for piece in llm.stream_chat(messages, max_tokens, 0.0):
        if first is None:
            first = time.perf_counter() - started
        pieces.append(piece)
    return {
        "first_token_s": round(first if first is not None else float("nan"), 4),
        "total_s": round(time.perf_counter() - started, 4),
        "reply": "".join(pieces),
    }


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    firsts = [s["first_token_s"] for s in samples]
    totals = [s["total_s"] for s in samples]
    return {
        "first_token_median_s": round(statistics.median(firsts), 4),
        "first_token_min_s": min(firsts),
        "first_token_max_s": max(firsts),
        "total_median_s": round(statistics.median(totals), 4),
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="questions per engine")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads, both engines")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    model = default_llm()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(model, args.threads, args.n_ctx, Path(tmp) / "server.log")
        try:
            remote = RemoteChat(url)
            embedded = LlamaChat(model, context_size=args.n_ctx, threads=args.threads)
            remote.warm_up(system_prompt=DEFAULT_SYSTEM_PROMPT)
            embedded.warm_up(system_prompt=DEFAULT_SYSTEM_PROMPT)
            results: dict[str, list[dict[str, Any]]] = {"embedded": [], "remote": []}
            engines: dict[str, ChatModel] = {"embedded": embedded, "remote": remote}
            for i in range(args.runs):
                question = QUESTIONS[i % len(QUESTIONS)]
                order = ["embedded", "remote"] if i % 2 == 0 else ["remote", "embedded"]
                for name in order:
                    sample = one_turn(engines[name], question, args.max_tokens)
                    sample["question"] = question
                    results[name].append(sample)
                    print(f"{name:8s} {sample['first_token_s']:.3f}s  {question}", file=sys.stderr)
            embedded.close()
            remote.close()
        finally:
            proc.terminate()
            proc.wait(15)

    e, r = summary(results["embedded"]), summary(results["remote"])
    report = {
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "model": model.name,
        "threads": args.threads,
        "n_ctx": args.n_ctx,
        "max_tokens": args.max_tokens,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "embedded": e,
        "remote": r,
        "first_token_ratio_remote_over_embedded": round(
            r["first_token_median_s"] / e["first_token_median_s"], 3
        ),
        "first_token_overhead_median_ms": round(
            statistics.median(
                (b["first_token_s"] - a["first_token_s"]) * 1000
                for a, b in zip(results["embedded"], results["remote"], strict=True)
            ),
            1,
        ),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
