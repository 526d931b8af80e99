"""Time to window shown and to all models ready, cold and warm, and resident memory.

Cold: a fresh data directory (the default LLM is assembled and verified again) and, where the
kernel allows it, dropped page caches. Warm: the same start again. Prints medians as JSON.

    .venv/bin/python bench/startup.py [--runs 3]
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


def start_once(data_dir: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        env["PARLEY_STARTUP_REPORT"] = str(report)
        env["PARLEY_CONFIG_DIR"] = tmp
        if data_dir is not None:
            env["PARLEY_DATA_DIR"] = str(data_dir)
        env["PARLEY_LAUNCH_T"] = repr(time.time())
        subprocess.run([sys.executable, "-m", "app"], env=env, check=True, timeout=600)
        return json.loads(report.read_text())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
