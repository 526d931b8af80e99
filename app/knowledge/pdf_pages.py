"""Child process: a PDF's pages as JSON on stdout (`[{"number", "text", "images"}]`), images
(base64) only for pages without text. Run by extract.py with a time limit."""

from __future__ import annotations

import base64
import json
import sys

MAX_IMAGES_PER_PAGE = 4
MAX_SCANNED_PAGES = 50  # OCR is a second a page or so here


def main(path: str) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            print("it is encrypted with a password", file=sys.stderr)
            return 2
        pages, scanned = [], 0
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            images: list[str] = []
            if not text.strip() and scanned < MAX_SCANNED_PAGES:
                scanned += 1
                try:
                    for image in list(page.images)[:MAX_IMAGES_PER_PAGE]:
                        images.append(base64.b64encode(image.data).decode("ascii"))
                except Exception:  # an undecodable image: the page stays empty
                    pass
            pages.append({"number": number, "text": text, "images": images})
    except (PdfReadError, OSError, ValueError) as exc:
        print(str(exc) or type(exc).__name__, file=sys.stderr)
        return 2
    json.dump(pages, sys.stdout)
    return 0


if __name__ == "__main__":
    from app.child import run_reader

    run_reader(main)
