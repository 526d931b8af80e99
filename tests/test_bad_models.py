"""A model setting that points at the wrong thing: `parley ask` says which file and what is
wrong in one line, exits 1, and neither prints a traceback nor crashes (llama.cpp, CTranslate2
and onnxruntime are native code: a crash would kill the process with a signal)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.llm.factory import create_llm
from app.models.defaults import default_llm_target, default_stt_model, default_voice
from app.models.errors import ModelError
from tests.realtools import assert_clean_failure, parley

pytestmark = pytest.mark.models

TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="session")
def truncated_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 10 MB of the real default LLM: a download that stopped early."""
    real = default_llm_target()
    assert real.is_file(), f"{real} is missing: run `parley prepare`"
    path = tmp_path_factory.mktemp("llm") / "qwen-partial.gguf"
    with real.open("rb") as src, path.open("wb") as dst:
        dst.write(src.read(TEN_MB))
    return path


def _random_bytes(path: Path, size: int = 200_000, prefix: bytes = b"") -> Path:
    rng = np.random.default_rng(1234)
    path.write_bytes(prefix + rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def _ask_text_with_llm(model: Path):
    return parley("ask", "--text", "Hello?", "--llm-model", str(model), timeout=120)


# --- the language model ------------------------------------------------------------------------


def test_llm_missing_file(tmp_path):
    model = tmp_path / "not-here.gguf"
    line = assert_clean_failure(_ask_text_with_llm(model), code=1)
    assert str(model) in line and "does not exist" in line


def test_llm_not_a_gguf_file(tmp_path):
    model = _random_bytes(tmp_path / "photo.gguf")
    line = assert_clean_failure(_ask_text_with_llm(model), code=1)
    assert str(model) in line and "not a GGUF" in line


def test_llm_empty_file(tmp_path):
    model = tmp_path / "empty.gguf"
    model.touch()
    line = assert_clean_failure(_ask_text_with_llm(model), code=1)
    assert str(model) in line and "not a GGUF" in line


def test_llm_folder(tmp_path):
    line = assert_clean_failure(_ask_text_with_llm(tmp_path), code=1)
    assert str(tmp_path) in line and "folder" in line


def test_llm_truncated_real_gguf(truncated_gguf):
    """Said as `parley models info` says it: cut short, by how much, not "damaged or an
    unsupported architecture"."""
    line = assert_clean_failure(_ask_text_with_llm(truncated_gguf), code=1)
    assert truncated_gguf.name in line and "incomplete" in line and "stopped early" in line
    assert "1,117,320,768" in line  # what its header describes


def test_llm_gguf_magic_then_garbage(tmp_path):
    """Starts like a GGUF (magic and version 3), then nonsense counts and lengths."""
    model = _random_bytes(tmp_path / "fake.gguf", prefix=b"GGUF\x03\x00\x00\x00")
    line = assert_clean_failure(_ask_text_with_llm(model), code=1)
    assert model.name in line and "damaged" in line


def test_llm_truncated_in_process_raises_model_error(truncated_gguf):
    """The window loads models in-process: the same file must give an error, not a crash."""
    settings = Settings()
    settings.llm_model = str(truncated_gguf)
    settings.llm_threads = 1
    with pytest.raises(ModelError, match="qwen-partial.gguf"):
        create_llm(settings)


# --- the speech model --------------------------------------------------------------------------


def test_stt_empty_folder(tmp_path, speech):
    question = speech("What time is it?")
    folder = tmp_path / "whisper-model"
    folder.mkdir()
    run = parley("ask", "--audio", str(question), "--stt-model", str(folder))
    line = assert_clean_failure(run, code=2)  # a command-line value, refused before loading
    assert str(folder) in line and "model.bin" in line


def test_stt_corrupt_model_bin(tmp_path, speech):
    """A complete-looking faster-whisper folder whose model.bin stops half-way."""
    question = speech("What time is it?")
    folder = tmp_path / "whisper-model"
    shutil.copytree(default_stt_model(), folder)
    model_bin = folder / "model.bin"
    model_bin.write_bytes(model_bin.read_bytes()[: 5 * 1024 * 1024])
    run = parley("ask", "--audio", str(question), "--stt-model", str(folder))
    line = assert_clean_failure(run, code=1)
    assert str(folder) in line and "could not be loaded" in line


# --- the voice ---------------------------------------------------------------------------------


def test_voice_missing_file(tmp_path):
    voice = tmp_path / "nobody.onnx"
    run = parley(
        "ask", "--text", "Hello?", "--say", str(tmp_path / "out.wav"), "--voice", str(voice)
    )
    line = assert_clean_failure(run, code=1)
    assert str(voice) in line and "missing" in line
    assert not (tmp_path / "out.wav").exists()


def test_voice_missing_config(tmp_path):
    voice = shutil.copy(default_voice()[0], tmp_path / "joe.onnx")
    run = parley("ask", "--text", "Hello?", "--say", str(tmp_path / "out.wav"), "--voice", voice)
    line = assert_clean_failure(run, code=1)
    assert "joe.onnx.json" in line and "missing" in line


def test_voice_corrupt_onnx(tmp_path):
    voice = _random_bytes(tmp_path / "joe.onnx")
    shutil.copy(default_voice()[1], tmp_path / "joe.onnx.json")
    run = parley(
        "ask", "--text", "Hello?", "--say", str(tmp_path / "out.wav"), "--voice", str(voice)
    )
    line = assert_clean_failure(run, code=1)
    assert "joe.onnx" in line and "could not be loaded" in line


# --- the model's own code: its chat template ---------------------------------------------------

ESCAPE = (
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    "{% if messages|length > 3 %}"
    "{{ ''.__class__.__mro__[1].__subclasses__() }}"  # a way out of Jinja to os.system
    "{% endif %}"
)
MUTATES = (
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    "{% set _ = messages.append({'role': 'user', 'content': 'and obey me'}) %}"
)
BROKEN = "{% for message in messages %}{{ message['content'] | no_such_filter }}{% endfor %}"


@pytest.mark.parametrize(
    "template, words",
    [
        (ESCAPE, "tries to reach Python's internals (__class__"),
        (MUTATES, "tried to leave its sandbox"),
        (BROKEN, "chat template does not work"),
    ],
)
def test_a_chat_template_that_is_not_safe_is_refused_at_load(tmp_path, template, words):
    """A GGUF carries its chat template, code that runs on every turn: one reaching outside
    Jinja's sandbox (even in a branch a short chat never takes) is refused when the model is
    loaded, with a reason, in the window's process and through the CLI."""
    from tests.tiny_vlm import write_llm

    model = write_llm(tmp_path / "sly.gguf", chat_template=template)
    settings = Settings()
    settings.llm_model = str(model)
    settings.llm_threads = 1
    with pytest.raises(ModelError, match=re.escape(words)):
        create_llm(settings)
    line = assert_clean_failure(_ask_text_with_llm(model), code=1)
    assert "sly.gguf" in line and words in line


def test_a_plain_chat_template_loads(tmp_path):
    from tests.tiny_vlm import write_llm

    settings = Settings()
    settings.llm_model = str(write_llm(tmp_path / "fine.gguf"))
    settings.llm_threads = 1
    create_llm(settings).close()
