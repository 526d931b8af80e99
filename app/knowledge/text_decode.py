"""Text files' bytes to text: the encodings people's files are really in (UTF-8 with a stray
Latin-1 byte, UTF-16 saved without a BOM) are read, not refused; binary data is."""

from __future__ import annotations


class FileError(Exception):
    """Why a file can't be read, written for the user."""


def decode(data: bytes, name: str, notices: list[str] | None = None) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM or with a NUL in every
    other byte (no BOM), else what charset-normalizer finds, else UTF-8 with its few bad bytes
    replaced (said once in `notices`). Binary data is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:  # no text encoding but UTF-16/32 has NULs
        utf16 = _bomless_utf16(data)
        if utf16 is None:
            raise FileError(f"{name} looks like a binary file, not text.")
        return utf16
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8-sig", "replace")
    bad = text.count("\ufffd")
    # A few stray bytes in text that is otherwise UTF-8 (a pasted Latin-1 "é"): another
    # charset would garble every accent in it to mend one.
    mostly_utf8 = bad <= max(3, len(text) // 200)
    if not (mostly_utf8 and any(ord(c) > 127 and c != "\ufffd" for c in text)):
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
        if not mostly_utf8:
            raise FileError(f"{name} is not text Parley can decode.")
    if notices is not None:
        what = "byte that was" if bad == 1 else "bytes that were"
        notices.append(f"{name}: {bad} {what} not UTF-8 became \ufffd; the rest reads as is.")
    return text


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM, told by its NULs all on one side (ASCII-heavy text: a NUL in
    every other byte); None for anything else."""
    head = data[:8192]
    half = len(head) // 2
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for zeros, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if half and zeros >= half // 4 and other <= zeros // 50 and len(data) % 2 == 0:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    return None
