"""Parley's eyes: safe image decoding and an offline image reader (OCR) for text-only models.
(The wrapping that keeps text found in images from being taken as instructions is
app/safety/untrusted/.)

- `images.prepare_image`: bytes or a local path -> a checked, upright, downscaled PreparedImage.
- `ocr.ImageReader`: PreparedImage -> ImageReading (text in reading order, size, main colours),
  with RapidOCR (ONNX models bundled in its wheel) imported on first use only.
- `app.safety.untrusted` (elsewhere): ImageReading or document text -> a prompt block
  clearly labelled as data, and `detect_instructions` to tell the user when an image tries
  to give orders.

No Qt here: the GUI turns drops and pastes into bytes or paths and calls these.
"""

from app.vision.images import ImageError, PreparedImage, prepare_image

__all__ = ["ImageError", "PreparedImage", "prepare_image"]
