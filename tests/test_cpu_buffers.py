"""Where the default model's weights live: repacked for speed, never AMX, no double residency."""

from __future__ import annotations

import re

import pytest

from app.llm.cpu_buffers import file_mappings, needs_amx_workaround, repack_plan
from app.models.defaults import default_llm_target
from app.models.gguf_info import read_gguf_header
from tests.realtools import mapped_rss

Q4_K = 12


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


def test_a_loaded_model_does_not_keep_the_repacked_weights_mapped(settings):
    if not needs_amx_workaround():
        pytest.skip("only CPUs with AMX get Parley's own buffer choice")
    from app.llm.factory import create_llm

    path = default_llm_target()
    before = file_mappings(path)  # other models on the same file, in this test process
    llm = create_llm(settings)
    try:
        mine = file_mappings(path) - before
        messages = [{"role": "user", "content": "What is two plus two? Answer with a number."}]
        # The model answers (the repacked kernels really run: nothing crashed)...
        assert "4" in "".join(llm.stream_chat(messages, 8, 0.0))
        # ...and its mapping of the 1.1 GB file holds only the weights it reads from there
        # (without the release, the whole file stays resident next to the repacked copy).
        resident = mapped_rss(path, starts={low for low, _high, _offset in mine})
        assert mine and 0 < resident < 0.5 * path.stat().st_size, resident
    finally:
        llm.close()
