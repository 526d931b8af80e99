"""Where the default model's weights live: repacked for speed, never AMX, no double residency."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.llm.cpu_buffers import needs_amx_workaround, repack_plan
from app.models.defaults import default_llm_target
from app.models.gguf_info import read_gguf_header

Q4_K = 12


def _mapping_rss(path: Path) -> int:
    """Resident bytes of this process's mappings of `path` (from /proc/self/smaps)."""
    real = str(path.resolve())
    total = 0
    inside = False
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as fh:
        for line in fh:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                inside = len(fields) >= 6 and fields[5] == real
            elif inside and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


def test_repack_plan_names_exactly_the_repackable_weights_of_the_default_model():
    header = read_gguf_header(default_llm_target(), max_array=0)
    names, patterns = repack_plan(header.tensors, header.tensor_types)
    compiled = [re.compile(p) for p in patterns]

    def chosen(name: str) -> bool:
        return any(p.search(name) for p in compiled)

    # Every Q4_K layer matrix is repacked: they are most of the model's bytes.
    expected = {
        n
        for n, t in header.tensor_types.items()
        if t == Q4_K and n.startswith("blk.") and len(header.tensors[n]) == 2
    }
    assert set(names) == expected and len(expected) > 100
    # Nothing else matches: a Q6_K, F32 or embedding tensor in that buffer aborts llama.cpp.
    assert {n for n in header.tensors if chosen(n)} == expected
    assert len(patterns) <= 10  # few, short patterns: llama.cpp compiles each per tensor


def test_the_loaded_default_model_does_not_keep_the_repacked_weights_mapped(real_models):
    if not needs_amx_workaround():
        pytest.skip("only CPUs with AMX get Parley's own buffer choice")
    path = real_models.llm.model_path
    size = path.stat().st_size
    resident = _mapping_rss(path)
    # Without the release the whole 1.1 GB file stays resident next to the repacked copy.
    assert 0 < resident < 0.5 * size, (resident, size)
    # And the model still answers (the repacked kernels are really used: nothing crashed).
    messages = [{"role": "user", "content": "What is two plus two? Answer with a number."}]
    assert "4" in "".join(real_models.llm.stream_chat(messages, 8, 0.0))
