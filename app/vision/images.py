"""Safe decoding of images the user drops or pastes into the conversation.

`prepare_image` is the one door through which image bytes enter Parley. It takes raw bytes
(a paste) or a local path (a drop) and never a URL: nothing here opens `file://` or `http://`
addresses, so a drop can't make Parley fetch anything.

What it guarantees about an image it accepts:

- The container is one of PNG, JPEG, WebP, GIF or BMP (checked by Pillow's decoder allow-list,
  not by the file name). SVG, TIFF, PDF, HEIC, text and everything else are refused.
- The file is at most `MAX_FILE_BYTES` and the picture at most `MAX_PIXELS`, checked from the
  header before any pixel is decoded, so a small file that claims (or really has) gigapixels
  can't exhaust memory (a "decompression bomb").
- Every pixel of the first frame was decoded (`.load()`), with Pillow's
  `LOAD_TRUNCATED_IMAGES` left False, so a damaged or cut-off file is refused instead of being
  shown half grey.
- It is upright (EXIF orientation applied), in RGB or RGBA, no larger than `max_side` on its
  longer side, and re-encoded in memory. The re-encoding drops all metadata (EXIF, GPS
  position, comments), so nothing but pixels reaches a model.

Encoding choice: images with transparency, and images that came from lossless formats (PNG,
GIF, BMP, lossless WebP: screenshots, diagrams, scans, where JPEG artefacts would blur small
text) are stored as PNG; photos (JPEG, lossy WebP) as JPEG quality 90. A lossless-source image
without transparency whose PNG would be larger than `PNG_BUDGET_BYTES` (a photo saved as PNG)
is stored as JPEG instead, to keep prompts and data URIs reasonable.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from app.safety.input_path import cannot_read, shown_name

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 40 MP: bigger than any phone photo, far below what exhausts memory
PNG_BUDGET_BYTES = 3 * 1024 * 1024
JPEG_QUALITY = 90
DEFAULT_MAX_SIDE = 1024

ACCEPTED = "PNG, JPEG, WebP, GIF and BMP images"
# Pillow plugin names tried when opening; nothing else is even attempted.
_DECODERS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
# What Pillow reports as `format` for those decoders (MPO: JPEGs with several pictures, as
# some cameras write them; the first picture is used).
_FORMAT_NAMES = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "MPO": "JPEG",
    "WEBP": "WebP",
    "GIF": "GIF",
    "BMP": "BMP",
}
_LOSSY_SOURCES = {"JPEG", "MPO"}
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|file:|data:)", re.IGNORECASE)
_PIXEL_COUNT = re.compile(r"\((\d+) pixels\)")

# Leading bytes of formats people commonly drop, to say what the file is when refusing it.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or office document"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x01\x00", "an icon file"),
    (b"GGUF", "a model file"),
)
_ISO_MEDIA_BRANDS = {
    b"heic": "a HEIC photo",
    b"heix": "a HEIC photo",
    b"mif1": "a HEIF image",
    b"avif": "an AVIF image",
}


class ImageError(Exception):
    """An image was refused; `str(exc)` names the file, says why and what Parley accepts."""


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """A decoded, upright, size-limited image, re-encoded in memory.

    `width`/`height` are the prepared (possibly downscaled) size; `original_size` is the
    upright size before downscaling, as an image viewer would report it. `format` is the
    source container (e.g. "JPEG"); `mime` describes `data`, which may be another format.
    """

    name: str
    width: int
    height: int
    original_size: tuple[int, int]
    format: str
    data: bytes
    mime: str
    animated: bool = False  # only the first frame was kept

    def data_uri(self) -> str:
        """`data:` URI of the prepared image, as OpenAI-style vision messages take it."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def to_pil(self) -> Image.Image:
        """A fresh Pillow image of `data` (safe: `data` is our own re-encoding)."""
        img = Image.open(io.BytesIO(self.data))
        img.load()
        return img

    def thumbnail(self, size: int = 128) -> bytes:
        """PNG bytes of the image fitted into a `size` x `size` box (for the chat view)."""
        if size < 1:
            raise ValueError(f"thumbnail size must be positive, not {size}")
        img = self.to_pil()
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, "PNG", optimize=True)
        return out.getvalue()


def prepare_image(
    source: Path | str | bytes | bytearray | memoryview,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    name: str = "",
) -> PreparedImage:
    """Check, decode, orient, downscale and re-encode an image from bytes or a local path.

    Raises ImageError with a message for the user when the image can't or shouldn't be used.
    """
    if max_side < 16:
        raise ValueError(f"max_side must be at least 16 pixels, not {max_side}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "pasted image"
    else:
        path = _local_path(source)
        label = name or shown_name(path) or str(path)
        data = _read_file(path, label)
    if not data:
        raise ImageError(f"“{label}” is empty (0 bytes). Parley accepts {ACCEPTED}.")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(_too_big_file(label, len(data)))
    return _decode(data, label, max_side)


def _local_path(source: Path | str) -> Path:
    text = os.fspath(source)
    if _URL.match(text):
        raise ImageError(
            f"“{text[:200]}” is an address (URL), not a file; Parley opens only image files on "
            "this computer. Save the image first, then drop or paste it."
        )
    return Path(text).expanduser()


def _read_file(path: Path, label: str) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError(f"“{label}” was not found ({path}).") from None
    except OSError as exc:
        raise ImageError(cannot_read(f"“{label}”", exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"“{label}” is a folder. Drop an image file: {ACCEPTED}.")
    if not stat.S_ISREG(st.st_mode):
        # A pipe or device (e.g. /dev/zero) could block or never end.
        raise ImageError(f"“{label}” is not a regular file. Parley accepts {ACCEPTED}.")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageError(_too_big_file(label, st.st_size))
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)  # +1: notice a file that grew since stat()
    except OSError as exc:
        raise ImageError(cannot_read(f"“{label}”", exc)) from None


def _too_big_file(label: str, size: int) -> str:
    return (
        f"“{label}” is too large ({size / 1e6:.0f} MB); Parley accepts image files up to "
        f"{MAX_FILE_BYTES // (1024 * 1024)} MB."
    )


def _too_many_pixels(label: str, width: int, height: int) -> str:
    return (
        f"“{label}” is too large: {width} x {height} pixels ({width * height / 1e6:.0f} "
        f"megapixels); Parley accepts images up to {MAX_PIXELS / 1e6:.0f} megapixels."
    )


def _bomb(label: str, exc: BaseException) -> str:
    found = _PIXEL_COUNT.search(str(exc))
    count = ""
    if found:
        pixels = int(found.group(1))
        count = f" ({pixels:,} pixels, {pixels / 1e6:,.0f} megapixels)"
    return (
        f"“{label}” is too large{count}; Parley accepts images up to "
        f"{MAX_PIXELS / 1e6:.0f} megapixels."
    )


def _what_is_it(data: bytes) -> str:
    """A guess at what a refused file is, for the error message."""
    for magic, what in _KNOWN_OTHERS:
        if data.startswith(magic):
            return what
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_MEDIA_BRANDS:
        return _ISO_MEDIA_BRANDS[data[8:12]]
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        return "an SVG drawing"
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page"
    sample = data[:4096]
    if b"\x00" in sample:
        return ""
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut by the sample's end
            return ""
    return "a text file"


def _decode(data: bytes, label: str, max_side: int) -> PreparedImage:
    # The guarantee that damaged files are refused depends on this flag; another library
    # flipping it process-wide would silently turn errors into grey pixels.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise ImageError(
            "Image loading is misconfigured (truncated images are allowed), so Parley refuses "
            f"to open “{label}”."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns (and only past twice its limit, raises) about huge images while
            # reading the header; either way the answer is the same refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(_DECODERS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(_bomb(label, exc)) from None
    except UnidentifiedImageError:
        what = _what_is_it(data)
        kind = f"it looks like {what}" if what else "it is not an image Parley can read"
        raise ImageError(
            f"Parley can't open “{label}”: {kind}. Parley accepts {ACCEPTED}."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _damaged(label, exc) from None
    with img:
        source_format = img.format or ""
        width, height = img.size
        if width < 1 or height < 1:
            raise ImageError(f"“{label}” has no pixels ({width} x {height}).")
        if width * height > MAX_PIXELS:
            raise ImageError(_too_many_pixels(label, width, height))
        lossless_webp = source_format == "WEBP" and b"VP8L" in data[12:40]
        if source_format in _LOSSY_SOURCES and max(width, height) > max_side:
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: several times faster for big
            # photos. Every byte of the stream is still decoded, so truncation is still caught.
            img.draft(None, (max_side, max_side))
        try:
            # Decode every pixel of the first frame before anything else touches the image:
            # Pillow remembers a failed load() as done, and e.g. PNG's getexif() loads too.
            img.load()
            orientation = _orientation(img)
            frame = ImageOps.exif_transpose(img) or img  # a copy, upright
            frame = _to_rgb(frame)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(_bomb(label, exc)) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            raise _damaged(label, exc) from None
        # 5-8 are the orientations with a quarter turn: the viewer swaps width and height.
        upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        animated = _is_animated(img)
    if max(frame.size) > max_side:
        scale = max_side / max(frame.size)
        size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
        frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    lossless = source_format not in _LOSSY_SOURCES and (source_format != "WEBP" or lossless_webp)
    encoded, mime = _encode(frame, lossless)
    return PreparedImage(
        name=label,
        width=frame.width,
        height=frame.height,
        original_size=upright,
        format=_FORMAT_NAMES.get(source_format, source_format),
        data=encoded,
        mime=mime,
        animated=animated,
    )


def _damaged(label: str, exc: BaseException) -> ImageError:
    log.info("refused %s as damaged: %s", label, exc)
    return ImageError(
        f"“{label}” is damaged or incomplete (the file ends early or its data is corrupt), "
        "so Parley can't use it. Try saving or copying the image again."
    )


def _is_animated(img: Image.Image) -> bool:
    try:  # looks for a second frame; a damaged later frame doesn't matter, only frame 0 is used
        return bool(getattr(img, "is_animated", False))
    except (OSError, SyntaxError, ValueError, EOFError):
        return True


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
        return int(value)
    except (TypeError, ValueError, OSError, SyntaxError):
        return 1


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image really has transparency; 16-bit scaled, not clipped."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow's convert() clips 16-bit grey at 255 (all-white); scale the range instead.
        arr = np.asarray(img, dtype=np.float64)
        # 32-bit "I" images whose values fit in a byte are already 8-bit data.
        eight_bit = mode == "I" and arr.size > 0 and arr.max() <= 255
        scaled = arr if eight_bit else arr / 257.0
        img = Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), "L")
        mode = "L"
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "PA", "La", "RGBa"):
        img = img.convert("RGBA")
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if img.mode == "RGBA":
        if img.getchannel("A").getextrema()[0] == 255:
            return img.convert("RGB")  # fully opaque: the alpha channel carries nothing
        return img
    if img.mode != "RGB":
        img = img.convert("RGB")  # L, 1, CMYK, YCbCr, RGBX, ...
    return img


def _encode(img: Image.Image, lossless: bool) -> tuple[bytes, str]:
    out = io.BytesIO()
    if img.mode == "RGBA" or lossless:
        img.save(out, "PNG", optimize=False, compress_level=6)
        if img.mode == "RGBA" or out.tell() <= PNG_BUDGET_BYTES:
            return out.getvalue(), "image/png"
        out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"
