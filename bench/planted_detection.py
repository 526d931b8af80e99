"""How well the planted-answer detector (app/safety/untrusted/) tells answers planted for an AI
from ordinary documents that look alike, with no model: caught/total and false flags/total.

    .venv/bin/python bench/planted_detection.py            # the tuning set, misses listed
    .venv/bin/python bench/planted_detection.py --heldout  # the held-out set: counts only

The held-out set (bench/planted_heldout.py) was written before the detector was changed and is
only measured, never tuned on, so its misses are not printed: read them only when the
detector is final, and then write new tuning texts rather than fitting these.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.safety.untrusted import detect_instructions  # noqa: E402


def measure(planted: list[str], benign: list[str]) -> dict:
    missed = [t for t in planted if not detect_instructions(t)]
    flagged = [(t, detect_instructions(t)) for t in benign if detect_instructions(t)]
    return {
        "caught": len(planted) - len(missed),
        "planted": len(planted),
        "false_flags": len(flagged),
        "benign": len(benign),
        "missed": missed,
        "flagged": flagged,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", action="store_true", help="the held-out set, counts only")
    parser.add_argument("--heldout2", action="store_true", help="the second held-out set")
    parser.add_argument("--show", action="store_true", help="with --heldout: list the misses too")
    args = parser.parse_args()
    if args.heldout:
        from bench.planted_heldout import BENIGN, PLANTED
    elif args.heldout2:
        from bench.planted_heldout2 import BENIGN, PLANTED
    else:
        from bench.planted_tuning import BENIGN, PLANTED
    result = measure(PLANTED, BENIGN)
    if (args.heldout or args.heldout2) and not args.show:
        result = {k: v for k, v in result.items() if k not in ("missed", "flagged")}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
