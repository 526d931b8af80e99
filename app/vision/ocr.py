"""The offline image reader: what a text-only LLM can know about an image.

When the loaded model has no vision, Parley still lets the user drop an image: this module
reads its text with RapidOCR (PP-OCRv4 ONNX models shipped inside the rapidocr-onnxruntime
wheel, so nothing is downloaded) and adds a few plain facts (size, main colours). The result is
untrusted data; `app.vision.untrusted` wraps it before it goes into a prompt.

Threads: `ImageReader.read` is blocking and CPU-bound (about a second for a 1920x1080
screenshot on two cores); call it from a worker thread. One lock serialises calls, so sharing a
reader between threads is safe, just not parallel.

Word spacing: the PP-OCRv4 recogniser often drops the space between words in Latin text
('Diskfull.Deletefilestocontinue.', 'TOTAL42.50EUR'); no RapidOCR option brings it back (the
model simply doesn't emit the space character there). RapidOCR can return a box per character
(`return_word_box=True`); `_restore_spaces` looks at the pixels between neighbouring
characters and puts a space back where the blank gap is wide compared to the line's character
pitch, as a word space is in every common font.
"""

from __future__ import annotations

import colorsys
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from app.models.errors import ModelError
from app.vision.images import PreparedImage

log = logging.getLogger(__name__)

# Prepare images for the reader at this size: small text in a downscaled full-HD screenshot
# becomes unreadable at the 1024 px a vision model gets. RapidOCR itself caps at 2000.
OCR_MAX_SIDE = 2000

# A blank run between two characters at least this many character pitches wide is a word space.
_SPACE_GAP_PITCH = 0.45
_SPACE_GAP_MIN_PX = 3.5  # below this, pixel rounding decides, not the font
_NO_SPACE_BEFORE = set(".,:;!?)]}%'’”»@_")
_NO_SPACE_AFTER = set("([{$€£#'‘“«@_")


@dataclass(frozen=True, slots=True)
class Colour:
    """One of an image's main colours: a rough English name, its hex code, its share (0..1)."""

    name: str
    hex: str
    share: float


@dataclass(frozen=True, slots=True)
class ImageReading:
    """What the reader found: text in reading order and basic facts about the picture."""

    name: str
    width: int
    height: int
    text: str  # `lines` joined with newlines; "" when no text was found
    lines: tuple[str, ...]
    colours: tuple[Colour, ...]
    format: str = ""
    seconds: float = 0.0  # time the OCR took

    def describe(self) -> str:
        """A compact factual summary (no text content): name, size, colours, how much text."""
        kind = f"{self.format} image" if self.format else "image"
        colours = ", ".join(f"{c.name} ({c.hex}, {c.share:.0%})" for c in self.colours)
        parts = [f"{kind} “{self.name}”, {self.width} x {self.height} pixels"]
        if colours:
            parts.append(f"main colours: {colours}")
        if self.lines:
            n = len(self.lines)
            parts.append(f"{n} line{'s' if n != 1 else ''} of text found")
        else:
            parts.append("no text found in it")
        return "; ".join(parts) + "."


class ImageReader:
    """OCR plus facts, with RapidOCR loaded on first use (it takes ~0.2 s and ~100 MB)."""

    def __init__(self, threads: int = 0, min_score: float = 0.5) -> None:
        self.threads = threads or max(1, min(os.cpu_count() or 1, 4))
        self.min_score = min_score
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the OCR models now (otherwise the first `read` does)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise ModelError(
                    "The offline image reader is not installed (the rapidocr-onnxruntime "
                    "package is missing), so Parley can't read text in images. Reinstall "
                    "Parley, or load a model that can see images."
                ) from exc
            try:
                self._engine = RapidOCR(
                    intra_op_num_threads=self.threads,
                    inter_op_num_threads=1,
                    text_score=self.min_score,
                )
            except Exception as exc:  # onnxruntime raises its own types for bad model files
                raise ModelError(
                    f"The offline image reader could not load its models ({exc}). "
                    "Reinstall the rapidocr-onnxruntime package."
                ) from exc
        return self._engine

    def read(self, image: PreparedImage) -> ImageReading:
        """Read the text of `image` (blocking; run on a worker thread)."""
        rgb = _flatten(image.to_pil())
        pixels = np.asarray(rgb)
        started = time.perf_counter()
        with self._lock:
            engine = self._load_locked()
            # RapidOCR takes an ndarray as BGR (OpenCV order).
            result, _ = engine(
                np.ascontiguousarray(pixels[:, :, ::-1]),
                return_word_box=True,
                text_score=self.min_score,
            )
        seconds = time.perf_counter() - started
        gray = np.asarray(rgb.convert("L"), dtype=np.int16)
        words = [_word(item, gray) for item in result or []]
        lines = _reading_order([w for w in words if w is not None])
        return ImageReading(
            name=image.name,
            width=image.width,
            height=image.height,
            text="\n".join(lines),
            lines=tuple(lines),
            colours=main_colours(rgb),
            format=image.format,
            seconds=seconds,
        )


# --- text layout ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Box:
    top: float
    bottom: float
    left: float
    right: float
    text: str
    head: tuple[float, ...] = ()  # x centres of the first (up to 3) characters, when known
    tail: tuple[float, ...] = ()  # ... and of the last (up to 3)


def _word(item: list[Any], gray: np.ndarray) -> _Box | None:
    """One RapidOCR result ([box, text, score, char_boxes, ...]) as a box with fixed spacing."""
    box = np.asarray(item[0], dtype=np.float64)
    text = str(item[1]).strip()
    if not text:
        return None
    raw = str(item[1])
    chars = item[3] if len(item) > 3 else None
    head: tuple[float, ...] = ()
    tail: tuple[float, ...] = ()
    if chars is not None and len(chars) == len(raw):
        text = _restore_spaces(raw, chars, box, gray).strip()
        kept = [
            (float(c[0][0]) + float(c[1][0])) / 2
            for ch, c in zip(raw, chars, strict=True)
            if ch != " "
        ]
        head = tuple(kept[:3]) if raw.lstrip() == raw else ()
        tail = tuple(kept[-3:]) if raw.rstrip() == raw else ()
    xs, ys = box[:, 0], box[:, 1]
    return _Box(
        float(ys.min()), float(ys.max()), float(xs.min()), float(xs.max()), text, head, tail
    )


def _restore_spaces(text: str, chars: list[Any], box: np.ndarray, gray: np.ndarray) -> str:
    """Put back word spaces the recogniser dropped, judged by the blank pixels between
    characters. Only for roughly horizontal lines with clear contrast; else text as is."""
    (x0, y0), (x1, y1) = box.min(axis=0), box.max(axis=0)
    height, width = y1 - y0, x1 - x0
    tilt = abs(box[1][1] - box[0][1])
    if width <= height or tilt > 0.3 * height or len(text) < 3:
        return text
    top, bottom = max(0, int(y0)), min(gray.shape[0], int(np.ceil(y1)))
    left, right = max(0, int(x0)), min(gray.shape[1], int(np.ceil(x1)))
    crop = gray[top:bottom, left:right]
    if crop.size == 0:
        return text
    distance = np.abs(crop - np.median(crop))
    contrast = float(np.percentile(distance, 99))
    if contrast < 40:
        return text  # faint text: ink and background can't be told apart reliably
    ink = (distance > 0.45 * contrast).any(axis=0)
    centres = [(float(c[0][0]) + float(c[1][0])) / 2 - left for c in chars]
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


def _longest_false_run(flags: np.ndarray) -> int:
    best = run = 0
    for value in flags:
        run = 0 if value else run + 1
        best = max(best, run)
    return best


def _reading_order(boxes: list[_Box]) -> list[str]:
    """Group boxes into lines (by vertical overlap), top to bottom, each left to right."""
    lines: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        for line in reversed(lines[-4:]):  # a box can only belong to a recent line
            top = min(b.top for b in line)
            bottom = max(b.bottom for b in line)
            overlap = min(bottom, box.bottom) - max(top, box.top)
            if overlap >= 0.5 * min(bottom - top, box.bottom - box.top):
                line.append(box)
                break
        else:
            lines.append([box])
    lines.sort(key=lambda line: sum(b.top + b.bottom for b in line) / len(line))
    return [_join_line(sorted(line, key=lambda b: b.left)) for line in lines]


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


# --- pixels and colours --------------------------------------------------------------------


def _flatten(img: Image.Image) -> Image.Image:
    """RGB for OCR; transparency over a background that contrasts with the visible pixels
    (white text on a transparent background would vanish on white)."""
    if img.mode != "RGBA":
        return img.convert("RGB")
    alpha = np.asarray(img.getchannel("A"))
    luma = np.asarray(img.convert("L"))
    visible = luma[alpha > 128]
    light = visible.size > 0 and float(visible.mean()) > 160
    background = Image.new("RGB", img.size, (32, 32, 32) if light else (255, 255, 255))
    background.paste(img, mask=img.getchannel("A"))
    return background


def main_colours(img: Image.Image, count: int = 3) -> tuple[Colour, ...]:
    """The `count` most common colours, by name, merged so that one name appears once."""
    # Nearest-neighbour sampling keeps real pixel colours: averaging would turn thin black
    # text on white into a 'gray' that isn't in the picture.
    img = img.convert("RGB")
    scale = min(1.0, 160 / max(img.size))
    small = img.resize(
        (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
        Image.Resampling.NEAREST,
    )
    quantized = small.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    total = small.width * small.height
    merged: dict[str, list[float]] = {}  # name -> [pixels, r, g, b] of its largest cluster
    for pixels, index in sorted(quantized.getcolors() or [], reverse=True):
        r, g, b = palette[index * 3 : index * 3 + 3]
        name = colour_name(r, g, b)
        if name in merged:
            merged[name][0] += pixels
        else:
            merged[name] = [pixels, r, g, b]
    ranked = sorted(merged.items(), key=lambda kv: -kv[1][0])[:count]
    return tuple(
        Colour(name, f"#{int(r):02x}{int(g):02x}{int(b):02x}", pixels / total)
        for name, (pixels, r, g, b) in ranked
    )


def colour_name(r: int, g: int, b: int) -> str:
    """A rough everyday name: 'white', 'light gray', 'dark blue', 'orange'..."""
    h, lightness, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    if lightness > 0.93:
        return "white"
    if lightness < 0.09:
        return "black"
    if s < 0.15 or (s < 0.3 and 0.2 < lightness < 0.8 and max(r, g, b) - min(r, g, b) < 30):
        if lightness > 0.7:
            return "light gray"
        return "dark gray" if lightness < 0.35 else "gray"
    hue = h * 360
    if hue < 15 or hue >= 340:
        base = "red"
    elif hue < 40:
        base = "brown" if lightness < 0.4 else "orange"
    elif hue < 65:
        base = "olive" if lightness < 0.3 else "yellow"
    elif hue < 160:
        base = "green"
    elif hue < 195:
        base = "teal" if lightness < 0.4 else "cyan"
    elif hue < 255:
        base = "blue"
    elif hue < 290:
        base = "purple"
    else:
        base = "pink" if lightness > 0.6 else "magenta"
    if base == "red" and lightness > 0.7:
        return "pink"  # what people call light red
    if base in ("brown", "olive", "teal", "pink"):
        return base
    if lightness < 0.3:
        return f"dark {base}"
    if lightness > 0.75:
        return f"light {base}"
    return base
