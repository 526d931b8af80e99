"""Child process: a DOCX's paragraphs as JSON on stdout (`[[heading_level, text], ...]`,
level 0 for body text). Run by extract.py with a time limit, its size checked before
(zip_limits), its memory capped here: a document built to exhaust the machine costs the
user a message, not a frozen app."""

from __future__ import annotations

import contextlib
import json
import resource
import sys

MEMORY_BYTES = 2 * 1024**3  # address space; python-docx on the largest allowed XML fits


def main(path: str) -> int:
    with contextlib.suppress(ValueError, OSError):  # a lower hard limit already: keep it
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    try:
        import docx

        document = docx.Document(path)
        out = []
        for para in document.paragraphs:
            style = (para.style.name or "").lower() if para.style is not None else ""
            level = int(style[-1]) if style.startswith("heading") and style[-1:].isdigit() else 0
            out.append([level, para.text])
    except MemoryError:
        print("it needs more memory than a document should", file=sys.stderr)
        return 2
    except Exception as exc:  # python-docx raises many kinds for a broken file
        print(str(exc) or type(exc).__name__, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    from app.child import run_reader

    run_reader(main)
