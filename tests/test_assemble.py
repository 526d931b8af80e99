"""Joining a model shipped in parts: a finished-looking file is always a verified one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import app.models.assemble as assemble
from app.models.assemble import is_verified, join_parts, verify_file
from app.models.errors import ModelError


@pytest.fixture
def parts(tmp_path: Path) -> tuple[list[Path], bytes]:
    """Three small part files and the bytes they join into."""
    chunks = [os.urandom(1000), os.urandom(1), os.urandom(2345)]
    paths = []
    for i, chunk in enumerate(chunks):
        p = tmp_path / "pkg" / f"model.gguf.part{i}"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(chunk)
        paths.append(p)
    return paths, b"".join(chunks)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_join_writes_the_exact_bytes_and_a_stamp(parts, tmp_path: Path) -> None:
    paths, data = parts
    target = tmp_path / "models" / "model.gguf"  # the folder doesn't exist yet
    seen: list[tuple[float, str]] = []

    result = join_parts(paths, target, len(data), sha(data), lambda f, w: seen.append((f, w)))

    assert result == target
    assert target.read_bytes() == data
    assert leftovers(target.parent) == ["model.gguf", "model.gguf.verified"]
    assert is_verified(target, len(data), sha(data))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_second_join_trusts_the_stamp_and_hashes_nothing(parts, tmp_path, monkeypatch) -> None:
    paths, data = parts
    target = tmp_path / "model.gguf"
    join_parts(paths, target, len(data), sha(data))

    class NoHashing:
        @staticmethod
        def sha256(*_a: object) -> None:
            raise AssertionError("re-hashed a verified file")

    def no_sha256_file(*_a: object, **_k: object) -> str:
        raise AssertionError("re-hashed a verified file")

    monkeypatch.setattr(assemble, "hashlib", NoHashing)
    monkeypatch.setattr(assemble, "sha256_file", no_sha256_file)
    for p in paths:  # the parts are not even needed any more
        p.unlink()

    assert join_parts(paths, target, len(data), sha(data)) == target
    verify_file(target, len(data), sha(data))  # also trusts the stamp
    assert target.read_bytes() == data


def test_wrong_checksum_raises_and_leaves_nothing_behind(parts, tmp_path: Path) -> None:
    paths, data = parts
    target = tmp_path / "models" / "model.gguf"
    with pytest.raises(ModelError) as err:
        join_parts(paths, target, len(data), sha(b"something else"))
    assert "corrupt" in str(err.value)
    assert leftovers(target.parent) == []  # no .partial, no target, no stamp


def test_wrong_size_raises_and_leaves_nothing_behind(parts, tmp_path: Path) -> None:
    paths, data = parts
    target = tmp_path / "models" / "model.gguf"
    with pytest.raises(ModelError):
        join_parts(paths, target, len(data) + 1, sha(data))
    assert leftovers(target.parent) == []


def test_a_missing_part_is_named(parts, tmp_path: Path) -> None:
    paths, data = parts
    paths[1].unlink()
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelError) as err:
        join_parts(paths, target, len(data), sha(data))
    assert str(paths[1]) in str(err.value)
    assert not target.exists()
    assert not target.with_name("model.gguf.partial").exists()


def test_parts_in_the_wrong_order_are_rejected(parts, tmp_path: Path) -> None:
    paths, data = parts
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelError):
        join_parts(list(reversed(paths)), target, len(data), sha(data))
    assert not target.exists()


def test_a_corrupt_leftover_target_is_rebuilt(parts, tmp_path: Path) -> None:
    """An earlier run left a same-size, unstamped, wrong file: it is replaced, not trusted."""
    paths, data = parts
    target = tmp_path / "model.gguf"
    target.write_bytes(b"\0" * len(data))
    join_parts(paths, target, len(data), sha(data))
    assert target.read_bytes() == data
    assert is_verified(target, len(data), sha(data))


def test_an_unstamped_good_target_is_verified_not_rejoined(parts, tmp_path: Path) -> None:
    """A run that joined the file but stopped before stamping: hashing it is enough."""
    paths, data = parts
    target = tmp_path / "model.gguf"
    target.write_bytes(data)
    for p in paths:
        p.unlink()  # rejoining would fail: proves the existing file is used
    assert join_parts(paths, target, len(data), sha(data)) == target
    assert is_verified(target, len(data), sha(data))


def _touch_later(path: Path) -> None:
    """Give `path` a clearly newer mtime, as a later write would (file systems may have coarse
    timestamps, so a write right after stamping can keep the same mtime)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_verify_detects_content_changed_after_stamping(parts, tmp_path: Path) -> None:
    paths, data = parts
    target = tmp_path / "model.gguf"
    join_parts(paths, target, len(data), sha(data))

    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(flipped))  # same size, different bytes
    _touch_later(target)

    assert not is_verified(target, len(data), sha(data))
    with pytest.raises(ModelError) as err:
        verify_file(target, len(data), sha(data))
    assert "corrupt" in str(err.value)


def test_verify_detects_a_truncated_file(parts, tmp_path: Path) -> None:
    paths, data = parts
    target = tmp_path / "model.gguf"
    join_parts(paths, target, len(data), sha(data))
    target.write_bytes(data[:-10])
    with pytest.raises(ModelError) as err:
        verify_file(target, len(data), sha(data))
    assert f"{len(data) - 10:,}" in str(err.value)


def test_verify_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        verify_file(tmp_path / "nope.gguf", 10, sha(b"x"))
    assert "missing" in str(err.value)


def test_verify_stamps_a_good_file_so_the_next_check_is_free(tmp_path, monkeypatch) -> None:
    target = tmp_path / "voice.onnx"
    data = os.urandom(5000)
    target.write_bytes(data)
    verify_file(target, len(data), sha(data))
    monkeypatch.setattr(assemble, "sha256_file", lambda *a, **k: pytest.fail("re-hashed"))
    verify_file(target, len(data), sha(data))
