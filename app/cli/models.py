"""`parley models …`: the catalog (`list`), downloads (`pull`), checks (`verify`) and what
model files are (`info`).

Kept out of app/cli/main.py so that the models commands import nothing heavy: `parley models info`
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
    models = sub.add_parser("models", help="list, download, verify and inspect models")
    msub = models.add_subparsers(dest="models_command", required=True)
    ls = msub.add_parser("list", help="recommended models by role, and which are installed")
    ls.add_argument("--role", choices=("stt", "llm", "vision", "tts"), help="only this role")
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    pull = msub.add_parser("pull", help="download (or assemble) a model from the catalog")
    pull.add_argument("name", metavar="NAME", help="a model id from `parley models list`")
    pull.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="give up on a silent server"
    )
    verify = msub.add_parser("verify", help="re-check installed models' sizes and hashes")
    verify.add_argument("names", nargs="*", metavar="NAME", help="only these (default: all)")
    verify.add_argument(
        "--full", action="store_true", help="re-hash every file, even ones stamped as verified"
    )
    info = msub.add_parser("info", help="what a .gguf file is (read from its header only)")
    info.add_argument("path", metavar="FILE.gguf", type=Path)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    return models


def run_models(args: argparse.Namespace) -> int:
    if args.models_command == "info":
        return models_info(args.path, args.json)
    from app.cli.models_catalog import models_list, models_pull, models_verify

    if args.models_command == "list":
        return models_list(args.role, args.json)
    if args.models_command == "pull":
        return models_pull(args.name, args.timeout)
    if args.models_command == "verify":
        return models_verify(args.names, args.full)
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
