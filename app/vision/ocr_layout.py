"""Where the image reader's boxes go: lines in reading order, word spaces put back, and two
readings of one picture at different scales reconciled.

Word spacing: the PP-OCRv4 recogniser often drops the space between words in Latin text
('Diskfull.Deletefilestocontinue.', 'TOTAL42.50EUR'); no RapidOCR option brings it back (the
model simply doesn't emit the space character there). RapidOCR can return a box per character
(`return_word_box=True`); `_restore_spaces` looks at the pixels between neighbouring
characters and puts a space back where the blank gap is wide compared to the line's character
pitch, as a word space is in every common font.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

# A blank run between two characters at least this many character pitches wide is a word space.
_SPACE_GAP_PITCH = 0.45
_SPACE_GAP_MIN_PX = 3.5  # below this, pixel rounding decides, not the font
_NO_SPACE_BEFORE = set(".,:;!?)]}%'’”»@_")
_NO_SPACE_AFTER = set("([{$€£#'‘“«@_")
# A box from the zoomed-out look this tall (share of the picture's height) is large display
# text; smaller text is left to the full-size reading, which sees it better.
LARGE_TEXT = 0.08
# A full-size box at least this share of a large box's height is (a piece of) the same text;
# a smaller one is a line of its own in the large box's margin.
_PART = 0.35
_WITHIN = 0.9  # ... unless it lies this wholly within it: then it is a piece of a glyph


@dataclass(frozen=True, slots=True)
class _Box:
    """A recognised text box in a frame where the page's lines run horizontally."""

    top: float
    bottom: float
    left: float
    right: float
    text: str
    head: tuple[float, ...] = ()  # x of the first (up to 3) characters' centres, when known
    tail: tuple[float, ...] = ()  # ... and of the last (up to 3)
    slope: float = 0.0  # what is left of the box's tilt in that frame (dy/dx)


@dataclass(frozen=True, slots=True)
class Word:
    """One RapidOCR result in image coordinates: its quadrilateral (top-left, top-right,
    bottom-right, bottom-left), its text with spaces restored, and character centres."""

    quad: np.ndarray
    text: str
    score: float = 1.0
    head: tuple[tuple[float, float], ...] = ()
    tail: tuple[tuple[float, float], ...] = ()

    @property
    def height(self) -> float:
        (tl, tr, br, bl) = self.quad
        return float(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2

    def bounds(self) -> tuple[float, float, float, float]:
        """left, top, right, bottom"""
        xs, ys = self.quad[:, 0], self.quad[:, 1]
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    @property
    def angle(self) -> float:
        """The tilt of the box's baseline, in radians (average of top and bottom edges)."""
        (tl, tr, br, bl) = self.quad
        top, bottom = tr - tl, br - bl
        return float(np.arctan2(top[1] + bottom[1], top[0] + bottom[0]))

    @property
    def long(self) -> bool:
        """Wide enough for its edges to say which way its line runs."""
        (tl, tr, br, bl) = self.quad
        return float(np.linalg.norm(tr - tl)) >= 1.5 * float(np.linalg.norm(bl - tl))

    def in_frame(self, rotation: float) -> _Box:
        """This box rotated by `rotation` radians about the origin."""
        c, s = np.cos(rotation), np.sin(rotation)
        turn = np.array([[c, -s], [s, c]])
        xs, ys = (self.quad @ turn.T).T
        x = [float((turn @ np.asarray(p))[0]) for p in self.head + self.tail]
        return _Box(
            float(ys.min()), float(ys.max()), float(xs.min()), float(xs.max()), self.text,
            tuple(x[: len(self.head)]), tuple(x[len(self.head) :]),
            float(np.tan(self.angle + rotation)),
        )  # fmt: skip


def word(item: list[Any], gray: Image.Image) -> Word | None:
    """One RapidOCR result ([box, text, score, char_boxes, ...]) with its spacing fixed."""
    quad = np.asarray(item[0], dtype=np.float64)
    text = str(item[1]).strip()
    if not text:
        return None
    raw = str(item[1])
    chars = item[3] if len(item) > 3 else None
    head: tuple[tuple[float, float], ...] = ()
    tail: tuple[tuple[float, float], ...] = ()
    if chars is not None and len(chars) == len(raw):
        text = _restore_spaces(raw, chars, quad, gray).strip()
        kept = [
            tuple(float(v) for v in np.asarray(c, dtype=np.float64).reshape(-1, 2).mean(axis=0))
            for ch, c in zip(raw, chars, strict=True)
            if ch != " "
        ]
        head = tuple(kept[:3]) if raw.lstrip() == raw else ()  # type: ignore[assignment]
        tail = tuple(kept[-3:]) if raw.rstrip() == raw else ()  # type: ignore[assignment]
    score = float(item[2]) if len(item) > 2 else 1.0
    return Word(quad, text, score, head, tail)


def _restore_spaces(text: str, chars: list[Any], quad: np.ndarray, gray: Image.Image) -> str:
    """Put back word spaces the recogniser dropped, judged by the blank pixels between
    characters. The box is straightened first (a photo is rarely square to the page), and
    each character's centre is measured along its baseline. Only for clear contrast."""
    tl, tr, br, bl = quad
    along = tr - tl
    width, height = float(np.linalg.norm(along)), float(np.linalg.norm(bl - tl))
    if width <= height or len(text) < 3 or height < 1:
        return text
    straight = gray.transform(
        (max(1, round(width)), max(1, round(height))),
        Image.Transform.QUAD,
        tuple(float(v) for v in (*tl, *bl, *br, *tr)),
        Image.Resampling.BILINEAR,
    )
    crop = np.asarray(straight, dtype=np.int16)
    unit = along / width
    centres = [
        float(np.dot(np.asarray(c, dtype=np.float64).reshape(-1, 2).mean(axis=0) - tl, unit))
        for c in chars
    ]
    distance = np.abs(crop - np.median(crop))
    contrast = float(np.percentile(distance, 99))
    if contrast < 40:
        return text  # faint text: ink and background can't be told apart reliably
    ink = (distance > 0.45 * contrast).any(axis=0)
    pitch = (centres[-1] - centres[0]) / (len(text) - 1)
    if pitch <= 0:
        return text
    threshold = max(_SPACE_GAP_PITCH * pitch, _SPACE_GAP_MIN_PX)
    out: list[str] = []
    for i, ch in enumerate(text):
        out.append(ch)
        if i + 1 >= len(text):
            break
        nxt = text[i + 1]
        if ch == " " or nxt == " " or nxt in _NO_SPACE_BEFORE or ch in _NO_SPACE_AFTER:
            continue
        if ch in ".,:" and i > 0 and text[i - 1].isdigit() and nxt.isdigit():
            continue  # 42.50, 1,000, 10:42
        if ch == "." and nxt.islower():
            continue  # notes.txt, e.g.
        a, b = max(0, int(centres[i])), min(len(ink), int(np.ceil(centres[i + 1])))
        if _longest_false_run(ink[a:b]) >= threshold:
            out.append(" ")
    return "".join(out)


def reconcile(full: list[Word], zoomed_out: list[Word], height: float) -> list[Word]:
    """The full-size reading with its large display text taken from the zoomed-out look
    (`zoomed_out`, in the same image coordinates; `height` is the picture's). At full size
    the detector sees glyphs hundreds of pixels tall only in pieces: it cuts a '7' in two or
    lays overlapping boxes over 'BAY 2L', and those pieces are read as extra or split
    characters ('17', 'B AY2 L', '1 8', a '9' with an 'O' for its loop), often with a high
    score. So every full-size box that is mostly covered by large boxes of its own size or
    smaller, or lies wholly within one, gives way to them; a small line reaching into a
    large box's margin stays, and so does large text only the full look found."""
    big = [w for w in zoomed_out if w.height >= LARGE_TEXT * height]
    kept = [
        w
        for w in full
        if _covered(w, [b for b in big if w.height >= _PART * b.height]) < 0.5
        and _covered(w, big) < _WITHIN
    ]
    # Nothing twice: a large box whose text a kept box already holds is left out.
    added = [
        b
        for b in big
        if not any(_shared(w, b) >= 0.5 and _plain(b.text) in _plain(w.text) for w in kept)
    ]
    return kept + added


def shifted(word: Word, scale: float, dx: float, dy: float) -> Word:
    """`word` from a picture scaled by `scale` and placed at (dx, dy), in the original's
    coordinates."""
    back = (word.quad - (dx, dy)) / scale
    points = [tuple(((np.asarray(p) - (dx, dy)) / scale).tolist()) for p in word.head + word.tail]
    return replace(
        word, quad=back, head=tuple(points[: len(word.head)]), tail=tuple(points[len(word.head) :])
    )


def _covered(word: Word, boxes: list[Word]) -> float:
    """The share of `word`'s area inside `boxes` (which do not overlap one another much)."""
    left, top, right, bottom = word.bounds()
    area = max((right - left) * (bottom - top), 1.0)
    inside = 0.0
    for box in boxes:
        bl, bt, br, bb = box.bounds()
        inside += max(0.0, min(right, br) - max(left, bl)) * max(
            0.0, min(bottom, bb) - max(top, bt)
        )
    return min(inside / area, 1.0)


def _shared(a: Word, b: Word) -> float:
    """The share of the smaller box's area that the two boxes have in common."""
    (al, at, ar, ab), (bl, bt, br, bb) = a.bounds(), b.bounds()
    w, h = min(ar, br) - max(al, bl), min(ab, bb) - max(at, bt)
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((ar - al) * (ab - at), (br - bl) * (bb - bt))
    return w * h / max(smaller, 1.0)


def letters_kept(text: str) -> str:
    """`text` with a '0' between two letters read as the letter O ('RO0M', 'PLATF0RM'): the
    recogniser confuses the two in bold display faces, and no word or code puts a zero
    there (a zero at a word's edge, as in 'J0' or '0x1F', is left alone)."""
    chars = list(text)
    for i in range(1, len(chars) - 1):
        if chars[i] == "0" and chars[i - 1].isalpha() and chars[i + 1].isalpha():
            chars[i] = "O"
    return "".join(chars)


def _plain(text: str) -> str:
    return "".join(text.split()).casefold()


def _longest_false_run(flags: np.ndarray) -> int:
    best = run = 0
    for value in flags:
        run = 0 if value else run + 1
        best = max(best, run)
    return best


def reading_order(words: list[Word]) -> list[str]:
    """Group boxes into lines, top to bottom, each left to right. A photographed page is
    rarely straight: the page's tilt (the median tilt of its long boxes) is turned away
    first, and a box joins the line whose own slope passes through its centre, so a label
    and its amount far across a tilted or perspective-warped receipt stay on one line."""
    tilts = [w.angle for w in words if w.long]
    rotation = -float(np.median(tilts)) if tilts else 0.0
    boxes = _smoothed([w.in_frame(rotation) for w in words])
    lines: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        best, best_miss = None, 0.0
        for line in lines[-6:]:  # a box can only belong to a recent line
            miss = _line_miss(line, box)
            if miss is not None and (best is None or miss < best_miss):
                best, best_miss = line, miss
        if best is None:
            lines.append([box])
        else:
            best.append(box)
    lines.sort(key=lambda line: sum(b.top + b.bottom for b in line) / len(line))
    return [_join_line(sorted(line, key=lambda b: b.left)) for line in lines]


def _smoothed(boxes: list[_Box], nearest: int = 5) -> list[_Box]:
    """Each box with the median slope of the boxes nearest it in height on the page: a short
    box's own edges say little about its tilt ('4.20' boxed square to the picture on a page
    turned 3 degrees), while under perspective the slope changes smoothly down the page."""
    centres = [(b.top + b.bottom) / 2 for b in boxes]
    out = []
    for box, y in zip(boxes, centres, strict=True):
        near = sorted(range(len(boxes)), key=lambda i: abs(centres[i] - y))[:nearest]
        out.append(replace(box, slope=float(np.median([boxes[i].slope for i in near]))))
    return out


def _line_miss(line: list[_Box], box: _Box) -> float | None:
    """How far `box`'s centre lies from where `line` runs at its x, in line heights; None
    when it is too far to be on that line (more than half the smaller height)."""
    nearest = min(line, key=lambda b: abs((b.left + b.right) - (box.left + box.right)))
    slope = nearest.slope
    x0, y0 = (nearest.left + nearest.right) / 2, (nearest.top + nearest.bottom) / 2
    x1, y1 = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    expected = y0 + slope * (x1 - x0)
    height = min(nearest.bottom - nearest.top, box.bottom - box.top)
    miss = abs(y1 - expected)
    return miss / max(height, 1.0) if miss <= 0.5 * height else None


def _join_line(boxes: list[_Box]) -> str:
    """Join a line's boxes with spaces. Where the detector's boxes overlap, a character at the
    edge is often read by both ('Ignorep' + 'previous', 'been' + 'nhacked'); drop the copy."""
    texts = [b.text for b in boxes]
    for i in range(len(boxes) - 1):
        a, b = boxes[i], boxes[i + 1]
        if a.right <= b.left:
            continue
        for k in range(3, 0, -1):
            ending, opening = _last_chars(texts[i], k), _first_chars(texts[i + 1], k)
            if not ending or ending.casefold() != opening.casefold():
                continue
            a_kept, b_kept = _drop_last(texts[i], k), _drop_first(texts[i + 1], k)
            # Keep the copy that is attached to its word: a copy set apart by a space
            # ('n hacked', 'Ignore p') is the one that strayed over the word gap.
            b_apart = texts[i + 1][: len(texts[i + 1]) - len(b_kept)].endswith(" ")
            a_apart = texts[i][len(a_kept) :].startswith(" ")
            a_strayed = len(a.tail) >= k and all(x > b.left for x in a.tail[-k:])
            b_strayed = len(b.head) >= k and all(x < a.right for x in b.head[:k])
            if not (a_strayed or b_strayed):
                continue
            if b_apart or (b_strayed and not a_apart):
                texts[i + 1] = b_kept
            else:
                texts[i] = a_kept
            break
    return " ".join(t for t in texts if t)


def _last_chars(text: str, k: int) -> str:
    chars = text.replace(" ", "")
    return chars[-k:] if len(chars) >= k else ""


def _first_chars(text: str, k: int) -> str:
    return text.replace(" ", "")[:k]


def _drop_last(text: str, k: int) -> str:
    """`text` without its last k non-space characters (and the spaces among them)."""
    for _ in range(k):
        text = text.rstrip()[:-1]
    return text.rstrip()


def _drop_first(text: str, k: int) -> str:
    for _ in range(k):
        text = text.lstrip()[1:]
    return text.lstrip()
