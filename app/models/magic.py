"""Is a file what its name says? A cheap look at its first bytes, for files no sha256 pins:
a captive portal or a login page answers a download with a web page, and that page must not
be stored as a model and called ready."""

from __future__ import annotations

import json
from pathlib import Path

_TEXT = {".json", ".txt", ".md", ".yaml", ".yml", ".model", ".tiktoken"}
_HTML_STARTS = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<!--")


def impostor(path: Path, name: str | None = None) -> str | None:
    """Why the file at `path` (to be called `name`) is not a model file of its kind, as the
    end of a sentence ("it is a web page ..."); None when it may well be one."""
    suffix = Path(name or path.name).suffix.lower()
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if not head:
        return "it is empty"
    start = head.lstrip()[:16].lower()
    if suffix not in (".html", ".htm") and start.startswith(_HTML_STARTS):
        return (
            "it is a web page, not a model file: the server (or a captive portal or login "
            "page between you and it) answered with HTML"
        )
    if suffix == ".gguf" and head[:4] != b"GGUF":
        return "it is not a GGUF file (it does not start with 'GGUF')"
    if suffix == ".onnx" and head[0] != 0x08:  # protobuf field 1 (ir_version), a varint
        return "it is not an ONNX model"
    if suffix == ".json" and path.stat().st_size < 50_000_000:
        try:
            json.loads(path.read_bytes())
        except (OSError, ValueError):
            return "it is not valid JSON"
    return None
