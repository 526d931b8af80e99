"""Images in chat messages: read only from `data:` URIs (never a file or the network), and
message content flattened for templates that expect a string."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping

_STB_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8")  # formats llama.cpp decodes itself


def decode_image_url(url: str) -> bytes:
    """The image bytes of a `data:image/...;base64,` URI, as PNG or JPEG/BMP/GIF.

    Anything else (file://, http(s)://, a bare path) raises ValueError: llama-cpp-python would
    fetch it with urllib, and the assistant must never read or fetch what a prompt points at.
    """
    if not isinstance(url, str) or not url.startswith("data:"):
        shown = url[:60] if isinstance(url, str) else type(url).__name__
        raise ValueError(f"Only data: image URIs are accepted, not {shown!r}")
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("An image data: URI must be base64-encoded (data:image/png;base64,...)")
    try:
        data = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"The image data: URI is not valid base64: {exc}") from exc
    if not data:
        raise ValueError("The image data: URI is empty")
    if data.startswith(_STB_MAGIC):
        return data
    # WebP, TIFF, ...: re-encode as PNG, which llama.cpp's image loader reads.
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except Exception as exc:  # Pillow raises many types for undecodable input
        raise ValueError(f"The attached file is not an image Parley can read: {exc}") from exc


def image_urls(content: object) -> list[str]:
    """The image URLs in one message's content (a string has none)."""
    urls: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                ref = part.get("image_url")
                urls.append(ref.get("url", "") if isinstance(ref, Mapping) else str(ref))
    return urls


def text_of(content: object) -> str:
    """The text of one message's content, parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def flatten_content(content: object, marker: str) -> object:
    """Content parts -> one string: a `marker` per image, then the text.

    Most stored chat templates concatenate `message.content` as a string; given a list they
    fail or print its repr, so the parts become one string, as llama-server does. Images go
    first whatever the part order: VLMs are trained with the image before the question (and the
    LLaVA-style handlers put it there too). mtmd wraps each marker in the model's own image
    begin/end tokens.
    """
    if not isinstance(content, list):
        return content
    images = [marker for _ in image_urls(content)]
    return "\n".join([*images, text_of(content)])
