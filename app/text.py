"""What counts as something said: text with at least one visible character."""

from __future__ import annotations

import unicodedata


def visible(text: str) -> str:
    """`text` without invisible format characters (zero-width spaces and joiners, BOMs,
    direction marks: Unicode category Cf) and surrounding whitespace; "" when nothing is
    left to read. A question of only those is not a question."""
    kept = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return kept.strip()
