"""Loading the image projector now, with llama.cpp's own reason when it fails (so a bad file
fails at load, not at the first image), and counting what an image costs in the prompt."""

from __future__ import annotations

import ctypes
from collections import deque
from collections.abc import Sequence
from typing import Any

from app.llm.vision.pair import VisionPair
from app.models.errors import ModelError

_mtmd_errors: deque[str] = deque(maxlen=20)
_log_callback: Any = None  # kept referenced: C holds a pointer to it


def _install_mtmd_log() -> None:
    """Route mtmd/clip logs through Python to keep their error lines.

    With verbose=False llama-cpp-python sends them to /dev/null, so ValueError("Failed to load
    mtmd context") is all one learns. Lines are still printed when llama-cpp-python's logger
    would print them.
    """
    global _log_callback
    if _log_callback is not None:
        return
    import logging
    import sys

    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd

    py_logger = logging.getLogger("llama-cpp-python")
    last_level = [0]

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        # ggml levels: 1 debug, 2 info, 3 warn, 4 error, 5 continues the previous line
        level = last_level[0] if level == 5 else level
        last_level[0] = level
        message = text.decode("utf-8", errors="replace")
        if level >= 4 and message.strip():
            _mtmd_errors.append(message.strip())
        if py_logger.level <= logging.DEBUG or level >= 4 and py_logger.level <= logging.ERROR:
            print(message, end="", file=sys.stderr, flush=True)

    _log_callback = callback
    mtmd.mtmd_helper_log_set(callback, ctypes.c_void_p(0))


def _reason(lines: Sequence[str]) -> str:
    text = " ".join(lines)
    for prefix in ("mtmd_init_from_file: error: ", "clip_init: ", "error: "):
        text = text.replace(prefix, "")
    return " ".join(text.split())


def init_handler(handler: Any, llm: Any, pair: VisionPair) -> None:
    """Load the projector now (llama-cpp-python would on the first image), or raise ModelError."""
    _install_mtmd_log()
    _mtmd_errors.clear()
    try:
        handler._init_mtmd_context(llm)
    except ValueError as exc:
        reason = _reason(list(_mtmd_errors)) or str(exc)
        raise ModelError(
            f"llama.cpp could not load the image projector {pair.mmproj.name} for "
            f"{pair.model.name}: {reason}. Choose the mmproj file published with this model, "
            "or download it again."
        ) from exc


def count_image_tokens(handler: Any, image: bytes) -> int:
    """Prompt tokens this image takes with this projector (llama.cpp's own count).

    mtmd_tokenize only preprocesses (resizes) the image; nothing is encoded.
    """
    mtmd = handler._mtmd_cpp
    bitmap = handler._create_bitmap_from_bytes(image)
    chunks = mtmd.mtmd_input_chunks_init()
    try:
        text = mtmd.mtmd_input_text()
        marker = mtmd.mtmd_default_marker()
        text.text = marker
        text.text_len = len(marker)
        text.add_special = False
        text.parse_special = True
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        if mtmd.mtmd_tokenize(handler.mtmd_ctx, chunks, ctypes.byref(text), bitmaps, 1) != 0:
            raise ValueError("llama.cpp could not read the image")
        return int(mtmd.mtmd_helper_get_n_tokens(chunks))
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)
