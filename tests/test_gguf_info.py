"""`describe_gguf` / `parley models info`: what a GGUF file is, from its header alone.

Checked against llama.cpp itself (its own parameter count for the same file), on the real
default model, on the tiny vision model the tests build, and on files that are not GGUF or
stop short."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from app.llm.llama import LlamaChat
from app.models.defaults import default_llm_target
from app.models.errors import ModelError
from app.models.gguf_info import describe_gguf, format_info, read_gguf_header
from tests import tiny_vlm
from tests.realtools import assert_clean_failure, parley


@pytest.fixture(scope="module")
def vlm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_vlm.build_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))


@pytest.fixture(scope="module")
def default_gguf() -> Path:
    path = default_llm_target()
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `parley prepare`")
    return path


@pytest.mark.models
def test_default_model(default_gguf, real_models):
    start = time.perf_counter()
    info = describe_gguf(default_gguf)
    seconds = time.perf_counter() - start
    assert seconds < 1.0, f"reading the header took {seconds:.2f} s"
    assert info.architecture == "qwen2"
    assert info.kind == "language model" and not info.is_projector
    assert info.quantization == "Q4_K_M" and info.quantization_source == "file type"
    assert info.has_chat_template
    assert info.context_length == 32768
    assert info.embedding_length == 1536 and info.layers == 28
    assert info.vocab_size == 151936
    assert info.file_size == default_gguf.stat().st_size == 1_117_320_768
    assert info.size_label == "1.5B"
    # The file stores the output matrix separately (Q6_K), so it holds 1.78 B weights: the
    # 1.54 B of the model card plus a second 151936 x 1536 matrix. llama.cpp counts the same.
    assert info.parameters == real_models.llm.llm._model.n_params()
    assert 1.5e9 < info.parameters - 151936 * 1536 < 1.6e9
    assert set(info.tensor_types) == {"Q4_K", "Q6_K", "F32"}
    text = format_info(info)
    assert "Q4_K_M" in text and "qwen2" in text and "32,768" in text and "1.78 B" in text


def test_tiny_vlm_model_and_projector(vlm):
    model, mmproj = vlm
    m = describe_gguf(model)
    assert m.architecture == "llama" and m.name == "tiny-llava-test"
    assert not m.is_projector and m.has_chat_template
    assert m.context_length == tiny_vlm.N_CTX_TRAIN
    assert m.embedding_length == tiny_vlm.N_EMBD and m.layers == tiny_vlm.N_LAYER
    assert m.quantization == "F32"
    chat = LlamaChat(model, context_size=256, threads=1)
    try:
        assert m.parameters == chat.llm._model.n_params()  # llama.cpp agrees
    finally:
        chat.close()

    p = describe_gguf(mmproj)
    assert p.is_projector and p.kind == "vision projector"
    assert p.architecture == "clip"
    assert p.projector_type == "mlp"
    assert p.projector_embd == tiny_vlm.N_EMBD  # the LLM width it feeds
    assert p.has_vision_encoder and not p.has_audio_encoder
    assert p.image_size == tiny_vlm.IMAGE_SIZE
    assert p.embedding_length == tiny_vlm.V_EMBD and p.layers == tiny_vlm.V_LAYER
    assert not p.has_chat_template and p.context_length is None
    assert p.tensor_types == {"F32": p.parameters - 6144, "F16": 6144}  # the f16 patch kernel
    # A projector for another model says so: it feeds 96-wide embeddings.
    other = describe_gguf(tiny_vlm.write_mismatched_mmproj(model.parent / "mmproj-96.gguf"))
    assert other.projector_embd == tiny_vlm.N_EMBD + 32


def test_header_reader_still_skips_big_arrays(vlm):
    header = read_gguf_header(vlm[0])
    tokens = header.kv["tokenizer.ggml.tokens"]
    assert len(tokens) > 64 and not isinstance(tokens, list)  # counted, never parsed
    assert header.data_end() == vlm[0].stat().st_size


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"", "is empty"),
        (b"PK\x03\x04 a zip file, not a model" * 10, "not a GGUF file"),
        (b"GGUF\x03\x00\x00\x00" + b"\xff" * 200, "is damaged"),  # garbage after the magic
        (b"GGUF\x01\x00\x00\x00" + b"\x00" * 32, "version 1"),
    ],
    ids=["empty", "zip", "garbage", "old-version"],
)
def test_not_gguf(tmp_path, content, expect):
    path = tmp_path / "file.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=expect) as err:
        describe_gguf(path)
    assert str(path) in str(err.value)


def test_truncated_files(tmp_path, vlm):
    data = vlm[0].read_bytes()
    header_end = read_gguf_header(vlm[0]).data_start
    cut_weights = tmp_path / "cut-in-weights.gguf"
    cut_weights.write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelError, match="is incomplete") as err:
        describe_gguf(cut_weights)
    assert f"{len(data):,}" in str(err.value)  # the size it should have
    cut_header = tmp_path / "cut-in-header.gguf"
    cut_header.write_bytes(data[: header_end // 2])
    with pytest.raises(ModelError, match="is damaged"):
        describe_gguf(cut_header)
    with pytest.raises(ModelError, match="is a folder"):
        describe_gguf(tmp_path)


def test_impossible_array_length_is_refused_at_once(tmp_path):
    """An array claiming a billion strings in a 64 MB file is refused before any looping."""
    path = tmp_path / "big.gguf"
    with path.open("wb") as fh:
        fh.write(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little"))
        fh.write((1).to_bytes(8, "little") + (1).to_bytes(8, "little") + b"a")  # 1 key: "a"
        fh.write((9).to_bytes(4, "little") + (8).to_bytes(4, "little"))  # array of strings
        fh.write((10**9).to_bytes(8, "little"))
        fh.write(bytes(64 * 1024 * 1024))  # empty strings' length prefixes, 8 M of them
    start = time.perf_counter()
    with pytest.raises(ModelError, match="runs past the end"):
        describe_gguf(path)
    assert time.perf_counter() - start < 1.0


# --- the command ---------------------------------------------------------------------------


def test_cli_info_text_and_json(vlm):
    model, mmproj = vlm
    run = parley("models", "info", str(mmproj), timeout=60)
    assert run.returncode == 0, run.stderr
    assert "vision projector" in run.stdout and "mlp" in run.stdout
    run = parley("models", "info", "--json", str(model), timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["architecture"] == "llama" and out["has_chat_template"] is True
    assert out["path"] == str(model) and out["is_projector"] is False


def test_cli_info_refuses_other_files(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("hello")
    line = assert_clean_failure(parley("models", "info", str(path), timeout=60), code=1)
    assert str(path) in line and "not a GGUF" in line
    run = parley("models", "info", "--json", str(tmp_path / "missing.gguf"), timeout=60)
    assert run.returncode == 1 and "error" in json.loads(run.stdout)


@pytest.mark.models
def test_cli_info_on_the_default_model_is_fast(default_gguf):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run = parley("models", "info", "--json", str(default_gguf), timeout=60)
        times.append(time.perf_counter() - start)
        assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["quantization"] == "Q4_K_M" and out["context_length"] == 32768
    # The whole process (Python start-up included); gguf.GGUFReader alone takes ~6 s here.
    assert statistics.median(times) < 2.0, times
