"""How well the offline image reader reads: big display text at every size, and small text.

Signs: a generated set (tests/image_factory.display_signs: 1-3 character numbers with their
word, five DejaVu faces and extra stroke weights, 600-2000 px wide, tilted up to 3 degrees,
slightly blurred, framed or not, light and dark). Per width bucket: character accuracy (1 -
edit distance / characters, lines joined by newlines), exact matches (every line as drawn, in
order), readings that gained a character the sign does not have there (an extra digit, a
space splitting a number), and the median OCR time.

Documents: the test images with small text (1920x1080 screenshot, the same downscaled to
1024, receipt, dialog, note, word-spacing lines, photographed receipts): the same measures
against their known lines, so a fix for big text is seen not to cost small text.

    .venv/bin/python bench/ocr_accuracy.py [--signs 120] [--seed 24] [--out results.json]

Measured (120 signs, seed 24; exact matches, character accuracy, readings that gained a
character): before the large boxes came from the zoomed-out look, 600-899 px 18/22, 0.942,
2; 900-1299 px 33/38, 0.974, 2; 1300-1699 px 31/34, 0.989, 1; 1700-2000 px 21/26, 0.953, 0
(all 103/120, 0.968). After: 22/22, 38/38 and 34/34 exact, 1700-2000 px 25/26 (all 119/120,
0.998, none gained). Documents 9/9 exact before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.vision.images import prepare_image  # noqa: E402
from app.vision.ocr import OCR_MAX_SIDE, ImageReader  # noqa: E402
from tests import image_factory as factory  # noqa: E402

BUCKETS = ((600, 899), (900, 1299), (1300, 1699), (1700, 2000))


def edit_distance(a: str, b: str) -> tuple[int, int]:
    """Levenshtein distance from `a` to `b`, and how many of its edits insert a character
    into `b` that `a` does not have there (a split '7 0', an extra '1' in '17')."""
    # Each cell: (edits, insertions), ties broken towards fewer insertions.
    row = [(j, j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], (i, 0)
        for j, cb in enumerate(b, 1):
            deleted = (row[j][0] + 1, row[j][1])
            inserted = (row[j - 1][0] + 1, row[j - 1][1] + 1)
            kept = (previous[0] + (ca != cb), previous[1])
            previous, row[j] = row[j], min(deleted, inserted, kept)
    return row[-1]


@dataclass
class Tally:
    """Readings of one group of images against what they say."""

    chars: int = 0
    errors: int = 0
    exact: int = 0
    gained: int = 0  # readings with a character (a space too) that is not there
    seconds: list[float] = field(default_factory=list)
    misread: list[str] = field(default_factory=list)

    def add(self, wanted: tuple[str, ...], read: tuple[str, ...], seconds: float) -> None:
        truth, got = "\n".join(wanted), "\n".join(read)
        errors, inserted = edit_distance(truth, got)
        self.chars += len(truth)
        self.errors += errors
        self.exact += wanted == read
        self.gained += inserted > 0
        self.seconds.append(seconds)
        if wanted != read:
            self.misread.append(f"{' / '.join(wanted)} -> {' / '.join(read)}")

    def summary(self) -> dict[str, object]:
        n = len(self.seconds)
        return {
            "images": n,
            "char_accuracy": round(1 - self.errors / max(self.chars, 1), 4),
            "exact": f"{self.exact}/{n}",
            "exact_rate": round(self.exact / max(n, 1), 3),
            "gained_chars": self.gained,
            "median_seconds": round(statistics.median(self.seconds), 2) if n else None,
            "misread": self.misread,
        }


def documents(folder: Path) -> list[tuple[str, Path, tuple[str, ...], int]]:
    """(name, image, its lines, the side it is prepared at) for the small-text images."""
    receipt = (
        factory.RECEIPT_SHOP,
        "12 High Street",
        *(f"{item} {price}" for item, price in factory.RECEIPT_ITEMS),
        f"TOTAL {factory.RECEIPT_TOTAL} EUR",
        "Thank you!",
    )
    screen = (
        "notes.txt - Editor",
        factory.SCREENSHOT_HEADING,
        *factory.SCREENSHOT_LINES,
        "Start 10:42",
    )
    make: list[tuple[str, Callable[[Path], Path], tuple[str, ...], int]] = [
        ("screenshot", factory.screenshot, screen, OCR_MAX_SIDE),
        ("screenshot@1024", factory.screenshot, screen, 1024),
        ("receipt", factory.receipt, receipt, OCR_MAX_SIDE),
        ("dialog", factory.dialog, ("Error", factory.DIALOG_MESSAGE, "OK Cancel"), OCR_MAX_SIDE),
        ("note", factory.injection, (factory.INJECTION_TEXT,), OCR_MAX_SIDE),
        (
            "spacing",
            factory.word_spacing,
            tuple(text for text, _face, _size in factory.SPACING_LINES),
            OCR_MAX_SIDE,
        ),
    ]
    out = [(name, fn(folder), lines, side) for name, fn, lines, side in make]
    for angle, warp in ((3, 0.0), (-6, 0.0), (4, 0.2)):
        photo = factory.photographed(
            factory.receipt(folder), folder, angle, warp, name=f"photo{angle}{warp}.jpg"
        )
        out.append((f"photo {angle} deg, warp {warp}", photo, receipt, OCR_MAX_SIDE))
    return out


def run(count: int, seed: int, folder: Path) -> dict[str, object]:
    reader = ImageReader(threads=2)
    reader.load()
    buckets = {bucket: Tally() for bucket in BUCKETS}
    for i, sign in enumerate(factory.display_signs(count, seed)):
        path = factory.display_sign(folder, sign, f"sign{i}.png")
        reading = reader.read(prepare_image(path, max_side=OCR_MAX_SIDE))
        bucket = next(b for b in BUCKETS if b[0] <= sign.width <= b[1])
        buckets[bucket].add(sign.text, reading.lines, reading.seconds)
        print(f"{i:3} {sign.width:4} {sign.text} -> {reading.lines}", file=sys.stderr)
    everything = Tally()
    for tally in buckets.values():
        everything.chars += tally.chars
        everything.errors += tally.errors
        everything.exact += tally.exact
        everything.gained += tally.gained
        everything.seconds += tally.seconds
    docs = Tally()
    per_document = {}
    for name, path, lines, side in documents(folder):
        reading = reader.read(prepare_image(path, max_side=side))
        one = Tally()
        one.add(lines, reading.lines, reading.seconds)
        docs.add(lines, reading.lines, reading.seconds)
        per_document[name] = {k: v for k, v in one.summary().items() if k != "images"}
    return {
        "signs": {f"{lo}-{hi} px": t.summary() for (lo, hi), t in buckets.items()}
        | {"all": {k: v for k, v in everything.summary().items() if k != "misread"}},
        "documents": per_document
        | {"all": {k: v for k, v in docs.summary().items() if k != "misread"}},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signs", type=int, default=120)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = run(args.signs, args.seed, Path(tmp))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
