"""The offline image reader: what a text-only LLM can know about an image.

When the loaded model has no vision, Parley still lets the user drop an image: this module
reads its text with RapidOCR (PP-OCRv4 ONNX models shipped inside the rapidocr-onnxruntime
wheel, so nothing is downloaded) and adds a few plain facts (size, main colours). The result is
untrusted data; `app.safety.untrusted` wraps it before it goes into a prompt.

Threads: `ImageReader.read` is blocking and CPU-bound (about a second for a 1920x1080
screenshot on two cores); call it from a worker thread. One lock serialises calls, so sharing a
reader between threads is safe, just not parallel.
"""

from __future__ import annotations

import colorsys
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

from app.models.errors import ModelError
from app.vision.images import PreparedImage
from app.vision.ocr_layout import (
    LARGE_TEXT,
    Word,
    letters_kept,
    reading_order,
    reconcile,
    shifted,
    word,
)

log = logging.getLogger(__name__)

# Large display text (a sign's one digit filling half the picture) is where the reader goes
# wrong at full size: missed, or read with characters that are not there, as the detector
# sees such glyphs only in pieces. Pictures with few boxes or a tall one get a second look
# shrunk to this side on a canvas this many times bigger, where that text is of an ordinary
# size; `reconcile` takes the large text from there and the small text from the full look.
ZOOM_SIDE = 400
ZOOM_OUT = 2.0
FEW_BOXES = 12

# Prepare images for the reader at this size: small text in a downscaled full-HD screenshot
# becomes unreadable at the 1024 px a vision model gets. RapidOCR itself caps at 2000.
OCR_MAX_SIDE = 2000
REC_HEIGHT = 48  # the height PP-OCRv4's recogniser reads a line at


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
        gray = rgb.convert("L")
        started = time.perf_counter()
        with self._lock:
            engine = self._load_locked()
            words = self._words(engine, rgb, gray)
            if len(words) < FEW_BOXES or any(w.height >= LARGE_TEXT * rgb.height for w in words):
                words = reconcile(words, self._zoomed_out(engine, rgb), rgb.height)
        seconds = time.perf_counter() - started
        lines = reading_order(words)
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

    def _words(self, engine: Any, rgb: Image.Image, gray: Image.Image) -> list[Word]:
        result, _ = engine(
            _bgr(rgb),
            return_word_box=True,
            text_score=self.min_score,
        )
        words = (word(item, gray) for item in result or [])
        return [w for w in words if w is not None]

    def _zoomed_out(self, engine: Any, rgb: Image.Image) -> list[Word]:
        """Large display text found on a second look at the picture shrunk onto a canvas of
        its own background, where text filling half the picture is of an ordinary size for
        the detector. Only the large boxes are kept (small text is the full read's), each
        read from the full picture's own pixels at the recogniser's height."""
        scale = ZOOM_SIDE / max(rgb.size)
        small = rgb.resize(
            (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
            Image.Resampling.LANCZOS,
        )
        canvas = Image.new(
            "RGB", (round(small.width * ZOOM_OUT), round(small.height * ZOOM_OUT)), _edge(rgb)
        )
        dx, dy = (canvas.width - small.width) // 2, (canvas.height - small.height) // 2
        canvas.paste(small, (dx, dy))
        quads, _ = engine(_bgr(canvas), use_rec=False, use_cls=False)
        found = []
        for points in quads or []:
            box = shifted(Word(np.asarray(points, dtype=np.float64), ""), scale, dx, dy)
            if box.height < LARGE_TEXT * rgb.height:
                continue
            read = _read_line(engine, rgb, box.quad)
            # An icon's '!' is not display text: a letter or a digit must be in it.
            if read and any(c.isalnum() for c in read.text) and read.score >= self.min_score:
                found.append(read)
        return found


def _bgr(img: Image.Image) -> np.ndarray:
    """RapidOCR takes an ndarray as BGR (OpenCV order)."""
    return np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])


def _straightened(img: Image.Image, quad: np.ndarray) -> Image.Image:
    """The quadrilateral `quad` (top-left, top-right, bottom-right, bottom-left) of `img`
    as an upright rectangle."""
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    return img.transform(
        (max(1, round(width)), max(1, round(height))),
        Image.Transform.QUAD,
        tuple(float(v) for v in (*tl, *bl, *br, *tr)),
        Image.Resampling.BICUBIC,
    )


def _read_line(engine: Any, img: Image.Image, quad: np.ndarray) -> Word | None:
    """The text in box `quad` of `img`, recognised from its own pixels with word spaces put
    back. RapidOCR's public call returns character boxes only after its own detection, so
    this uses its recogniser and box calculator directly (pinned at 1.4.4)."""
    line = _line_image(img, quad)
    pixels = _bgr(line)
    rec, _ = engine.text_rec([pixels], True)
    if not rec or not str(rec[0][0]).strip():
        return None
    rect = np.array([[0, 0], [line.width, 0], [line.width, line.height], [0, line.height]])
    text, score, chars = engine.cal_rec_boxes([pixels], [rect.astype(np.float32)], rec)[0][:3]
    read = word([rect, text, score, chars], line.convert("L"))
    if read is None:
        return None
    read = replace(read, text=letters_kept(read.text))
    # Character centres from the line image back onto the picture, for `reading_order`.
    tl, tr, _br, bl = quad
    across, down = (tr - tl) / line.width, (bl - tl) / line.height
    back = [tuple((tl + x * across + y * down).tolist()) for x, y in read.head + read.tail]
    return replace(
        read, quad=quad, head=tuple(back[: len(read.head)]), tail=tuple(back[len(read.head) :])
    )


def _line_image(img: Image.Image, quad: np.ndarray) -> Image.Image:
    """The box `quad` of `img` straightened and brought to the recogniser's height with an
    averaging filter: its own (bilinear) resize samples a 600 px glyph one pixel in twelve,
    and reads the aliased strokes as extra characters."""
    line = _straightened(img, quad)
    if line.height <= REC_HEIGHT:
        return line
    width = max(1, round(line.width * REC_HEIGHT / line.height))
    return line.resize((width, REC_HEIGHT), Image.Resampling.LANCZOS)


def _edge(img: Image.Image) -> tuple[int, int, int]:
    """The median colour of the picture's border: the canvas it is shrunk onto."""
    pixels = np.asarray(img)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    r, g, b = (int(v) for v in np.median(border, axis=0))
    return r, g, b


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
