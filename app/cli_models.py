"""`parley models …`: what model files are (`info`).

Kept out of app/cli.py so that the models commands import nothing heavy: `parley models info`
reads a GGUF header and prints, in well under a second even on a multi-GB file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_models_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `models` and its subcommands on the top-level subparsers."""
    models = sub.add_parser("models", help="inspect model files")
    msub = models.add_subparsers(dest="models_command", required=True)
    info = msub.add_parser("info", help="what a .gguf file is (read from its header only)")
    info.add_argument("path", metavar="FILE.gguf", type=Path)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    return models


def run_models(args: argparse.Namespace) -> int:
    if args.models_command == "info":
        return models_info(args.path, args.json)
    return 2


def models_info(path: Path, as_json: bool = False) -> int:
    from app.models.errors import ModelError
    from app.models.gguf_info import describe_gguf, format_info

    try:
        info = describe_gguf(path.expanduser())
    except ModelError as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}))
        print(f"parley: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(info.as_dict(), indent=2) if as_json else format_info(info))
    return 0
