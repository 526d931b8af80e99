"""A reply stream passed through a filter that may hold text back (a span not yet complete)
and change it: the secrecy filter and the citation check are both this shape, so both run
the stream the same way, closing it however the consumer stops."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class StreamFilter(Protocol):
    def feed(self, piece: str) -> str:
        """What can be shown of the stream so far, given its next piece."""

    def flush(self) -> str:
        """What was held back, at the end."""


def partial_tag_at_end(text: str, tag: str) -> int:
    """How many characters at the end of `text` could be the start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def close_stream(stream: Any) -> None:
    """Stop a reply stream now (a generator's close ends llama.cpp's generation), whatever
    kind of iterator it is; plain iterators have nothing to stop."""
    close = getattr(stream, "close", None)
    if close:
        close()


def filtered(stream: Iterator[str], through: StreamFilter) -> Iterator[str]:
    """`stream` through `through`; the stream is closed when this ends, early or not."""
    try:
        for piece in stream:
            shown = through.feed(piece)
            if shown:
                yield shown
        rest = through.flush()
        if rest:
            yield rest
    finally:
        close_stream(stream)
