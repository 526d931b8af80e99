"""The real llama.cpp image path, on a tiny vision model the tests build (tests/tiny_vlm.py).

Proves that images are really encoded (the prompt grows by the image tokens; logits change with
the image and between images), that handler choice follows the GGUF metadata, that projectors
that do not fit or would crash are refused with a message naming the files (the crashing one
in a child process, so this process survives), and that only data: images are accepted.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.llm import vision
from app.llm.llama import LlamaChat
from app.llm.probe import probe_model
from app.models.errors import ModelError
from tests import tiny_vlm

pytestmark = pytest.mark.timeout(120)

RED = tiny_vlm.png_data_uri((255, 0, 0))
BLUE_CHECKS = tiny_vlm.png_data_uri((0, 0, 255), pattern=True)


@pytest.fixture(scope="module")
def vlm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    start = time.perf_counter()
    model, mmproj = tiny_vlm.build_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))
    build = time.perf_counter() - start
    assert build < 3.0, f"building the tiny VLM took {build:.2f} s"
    return model, mmproj


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("broken-mmproj")
    return {
        "mismatched": tiny_vlm.write_mismatched_mmproj(d / "mmproj-96.gguf"),
        "crashing": tiny_vlm.write_crashing_mmproj(d / "mmproj-no-mm2.gguf"),
        "no_vision": tiny_vlm.write_no_vision_mmproj(d / "mmproj-no-vision.gguf"),
        "unknown_type": tiny_vlm.write_mmproj(d / "mmproj-bogus.gguf", projector_type="bogus"),
    }


def ask(text: str, image: str | None = None, system: bool = True) -> list[Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if image:
        content.append({"type": "image_url", "image_url": {"url": image}})
    messages: list[Any] = [{"role": "system", "content": "Be brief."}] if system else []
    return [*messages, {"role": "user", "content": content}]


def first_step(chat: LlamaChat, messages: list[Any]) -> tuple[int, np.ndarray, float]:
    """(prompt tokens, first-token logits, seconds) of one greedy step through the handler."""
    captured: list[np.ndarray] = []

    def capture(_ids: Any, scores: np.ndarray) -> np.ndarray:
        if not captured:
            captured.append(np.array(scores, dtype=np.float32, copy=True))
        return scores

    prepared, _ = chat._prepare(messages)
    start = time.perf_counter()
    out = chat.llm.create_chat_completion(
        messages=prepared, max_tokens=1, temperature=0.0, logits_processor=[capture]
    )
    seconds = time.perf_counter() - start
    return out["usage"]["prompt_tokens"], captured[0], seconds


# --- metadata and handler choice -------------------------------------------------------------


def test_pair_metadata_is_read_without_loading(vlm: tuple[Path, Path]) -> None:
    model, mmproj = vlm
    pair = vision.inspect_pair(model, mmproj)
    assert pair.model_arch == "llama"
    assert pair.projector_type == "mlp"
    assert pair.n_embd == pair.projector_embd == tiny_vlm.N_EMBD
    assert pair.image_tokens_estimate == tiny_vlm.IMAGE_TOKENS
    assert pair.chat_template is not None
    header = vision.read_gguf_header(model)
    assert isinstance(header.kv["tokenizer.ggml.tokens"], vision.SkippedArray)  # not parsed


def _pair(**kw: Any) -> vision.VisionPair:
    base: dict[str, Any] = dict(
        model=Path("m.gguf"),
        mmproj=Path("mmproj.gguf"),
        model_arch="llama",
        model_name="",
        n_embd=4096,
        chat_template="{{ x }}",
        projector_type="mlp",
        mmproj_name="",
        projector_embd=4096,
        image_tokens_estimate=576,
    )
    base.update(kw)
    return vision.VisionPair(**base)


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        (_pair(projector_type="qwen2.5vl_merger", model_arch="qwen2vl"), "Qwen25VLChatHandler"),
        (_pair(projector_type="gemma3", model_arch="gemma3"), "Gemma4ChatHandler"),
        (_pair(projector_type="gemma4v", model_arch="gemma4"), "Gemma4ChatHandler"),
        (_pair(names="moondream2 text model"), "MoondreamChatHandler"),
        (_pair(names="nanollava"), "NanoLlavaChatHandler"),
        (_pair(projector_type="resampler", minicpmv_version=3), "MiniCPMv26ChatHandler"),
        (_pair(projector_type="idefics3", names="smolvlm"), "MTMDChatHandler"),
        (_pair(chat_template=None, names="llava v1.5 7b"), "Llava15ChatHandler"),
        (_pair(names="llava-v1.6-mistral"), "MTMDChatHandler"),  # its own stored template
        (_pair(projector_type="pixtral"), "MTMDChatHandler"),
    ],
)
def test_handler_choice_follows_metadata(pair: vision.VisionPair, expected: str) -> None:
    choice = vision.choose_handler(pair, vision.available_handlers())
    assert choice.name == expected, choice.reason


def test_missing_specific_handler_falls_back_to_generic() -> None:
    pair = _pair(projector_type="qwen2.5vl_merger")
    assert vision.choose_handler(pair, {"MTMDChatHandler"}).name == "MTMDChatHandler"


def test_llava_handler_gets_a_short_system_message_and_fixed_format() -> None:
    cls = vision.handler_class("Llava15ChatHandler")
    assert cls.DEFAULT_SYSTEM_MESSAGE == vision.SHORT_SYSTEM
    assert cls.CHAT_FORMAT == vision.LLAVA15_FORMAT
    assert vision.handler_class("Llama3VisionAlphaChatHandler").DEFAULT_SYSTEM_MESSAGE is None


# --- the real image path ---------------------------------------------------------------------


@pytest.mark.parametrize("handler", [None, "MTMDChatHandler", "Llava15ChatHandler"])
def test_images_are_really_encoded(vlm: tuple[Path, Path], handler: str | None) -> None:
    model, mmproj = vlm
    chat = LlamaChat(model, context_size=512, threads=1, mmproj=mmproj, chat_handler=handler)
    try:
        assert chat.supports_vision
        assert chat.handler_name == (handler or "MTMDChatHandler")
        n_plain, logits_plain, _ = first_step(chat, ask("What is this?"))
        n_red, logits_red, _ = first_step(chat, ask("What is this?", RED))
        n_blue, logits_blue, _ = first_step(chat, ask("What is this?", BLUE_CHECKS))
        _, logits_red_again, _ = first_step(chat, ask("What is this?", RED))

        # The prompt grows by the 16 image tokens (plus at most a separator or two).
        assert tiny_vlm.IMAGE_TOKENS <= n_red - n_plain <= tiny_vlm.IMAGE_TOKENS + 2
        assert n_blue == n_red
        # The image reaches the model: logits change with it and between images, and the same
        # image gives the same logits.
        assert not np.allclose(logits_plain, logits_red, atol=1e-3)
        assert not np.allclose(logits_red, logits_blue, atol=1e-3)
        np.testing.assert_allclose(logits_red, logits_red_again, rtol=1e-4, atol=1e-4)

        # The public path: streaming with an image evaluates the image tokens too.
        reply = "".join(chat.stream_chat(ask("What is this?", RED), 4, 0.0))
        assert isinstance(reply, str)
        assert chat.llm.n_tokens >= n_red
        # count_tokens counts the image with llama.cpp's own number of image tokens.
        with_image = chat.count_tokens(ask("What is this?", RED))
        assert with_image - chat.count_tokens(ask("What is this?")) == tiny_vlm.IMAGE_TOKENS
    finally:
        chat.close()


def test_image_encode_time_is_measured(
    vlm: tuple[Path, Path], tmp_path: Path, record_property: Any
) -> None:
    """Time a prompt with the image minus the same prompt without (fastest of several runs:
    other processes share the CPU), and the vision tower alone on a 64x64 image."""
    from app.llm.probe import _encode_test_image

    model, mmproj = vlm
    start = time.perf_counter()
    chat = LlamaChat(model, context_size=512, threads=1, mmproj=mmproj)
    load = time.perf_counter() - start
    try:
        first_step(chat, ask("warm up", RED))
        plain_times, image_times = [], []
        for _ in range(15):
            plain_times.append(first_step(chat, ask("What is this?"))[2])
            image_times.append(first_step(chat, ask("What is this?", RED))[2])
        encoder_times = []
        for _ in range(20):
            t = time.perf_counter()
            assert _encode_test_image(chat._handler) == tiny_vlm.IMAGE_TOKENS
            encoder_times.append(time.perf_counter() - t)
    finally:
        chat.close()
    result = {
        "load_with_mmproj_s": round(load, 4),
        "prompt_without_image_ms": round(min(plain_times) * 1000, 2),
        "prompt_with_image_ms": round(min(image_times) * 1000, 2),
        "image_cost_ms": round((min(image_times) - min(plain_times)) * 1000, 2),
        "encoder_only_ms": round(statistics.median(encoder_times) * 1000, 3),
        "image_tokens": tiny_vlm.IMAGE_TOKENS,
    }
    (tmp_path / "vision-timing.json").write_text(json.dumps(result))
    record_property("vision_timing", result)
    print(f"\ntiny VLM timing: {json.dumps(result)}")
    assert load < 5.0
    assert min(image_times) - min(plain_times) < 1.0


def test_text_turns_on_a_vision_model_are_not_confused_by_an_earlier_image(
    vlm: tuple[Path, Path],
) -> None:
    model, mmproj = vlm
    chat = LlamaChat(model, context_size=512, threads=1, mmproj=mmproj)
    try:
        question = [{"role": "user", "content": "Say something."}]
        fresh = "".join(chat.stream_chat(question, 6, 0.0))
        "".join(chat.stream_chat(ask("Say something.", BLUE_CHECKS, system=False), 6, 0.0))
        # The text-only turn goes through the stored template with the prompt cache; the
        # image positions left behind must not be reused as if they were text.
        assert "".join(chat.stream_chat(question, 6, 0.0)) == fresh
        assert "".join(chat.stream_chat(question, 6, 0.0)) == fresh
        # ... and it gives what the MTMD handler itself gives for the same messages.
        assert chat.llm.chat_handler is chat._handler  # restored after the text-only turn
        through_handler = chat.llm.create_chat_completion(
            messages=question, max_tokens=6, temperature=0.0
        )
        assert through_handler["choices"][0]["message"]["content"] == fresh
    finally:
        chat.close()


def test_non_png_images_are_converted(vlm: tuple[Path, Path]) -> None:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, format="WEBP")
    webp = "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode()
    assert vision.decode_image_url(webp).startswith(b"\x89PNG")
    model, mmproj = vlm
    chat = LlamaChat(model, context_size=512, threads=1, mmproj=mmproj)
    try:
        n_plain, _, _ = first_step(chat, ask("What is this?"))
        n_webp, _, _ = first_step(chat, ask("What is this?", webp))
        assert n_webp - n_plain >= tiny_vlm.IMAGE_TOKENS
    finally:
        chat.close()


# --- refusing what must not be loaded or fetched ---------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/cat.png",
        "https://example.com/cat.png",
        "/tmp/cat.png",
        "data:image/png,notbase64",
        "data:image/png;base64,",
    ],
)
def test_only_data_images_are_accepted(
    vlm: tuple[Path, Path], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.request

    def no_fetch(*_a: Any, **_k: Any) -> None:
        raise AssertionError("llama-cpp-python tried to fetch an image URL")

    monkeypatch.setattr(urllib.request, "urlopen", no_fetch)
    model, mmproj = vlm
    chat = LlamaChat(model, context_size=512, threads=1, mmproj=mmproj)
    try:
        with pytest.raises(ValueError):
            chat.stream_chat(ask("What is this?", url), 4, 0.0)  # raises before any work
        with pytest.raises(ValueError):
            chat._handler.load_image(url)  # and the handler itself refuses too
    finally:
        chat.close()


def test_text_only_model_refuses_images_but_takes_text_parts(vlm: tuple[Path, Path]) -> None:
    model, _ = vlm
    chat = LlamaChat(model, context_size=512, threads=1)
    try:
        assert not chat.supports_vision
        with pytest.raises(ValueError, match="cannot see images"):
            chat.stream_chat(ask("What is this?", RED), 4, 0.0)
        reply = "".join(chat.stream_chat(ask("Hello"), 4, 0.0))
        assert isinstance(reply, str)
        assert chat.count_tokens(ask("Hello")) == chat.count_tokens(
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
        )
    finally:
        chat.close()


def test_mismatched_projector_is_refused_naming_both_files(
    vlm: tuple[Path, Path], broken: dict[str, Path]
) -> None:
    model, _ = vlm
    with pytest.raises(ModelError) as err:
        LlamaChat(model, context_size=512, threads=1, mmproj=broken["mismatched"])
    message = str(err.value)
    assert model.name in message and broken["mismatched"].name in message
    assert "64" in message and "96" in message


def test_projector_without_vision_encoder_is_refused(
    vlm: tuple[Path, Path], broken: dict[str, Path]
) -> None:
    model, _ = vlm
    with pytest.raises(ModelError, match="no vision encoder"):
        LlamaChat(model, context_size=512, threads=1, mmproj=broken["no_vision"])


def test_swapped_files_are_refused(vlm: tuple[Path, Path]) -> None:
    model, mmproj = vlm
    with pytest.raises(ModelError, match="not an image projector"):
        LlamaChat(model, context_size=512, threads=1, mmproj=model)
    with pytest.raises(ModelError, match="not a language model"):
        LlamaChat(mmproj, context_size=512, threads=1, mmproj=mmproj)


def test_llama_cpp_reason_is_shown_when_the_projector_fails_to_load(
    vlm: tuple[Path, Path], broken: dict[str, Path]
) -> None:
    model, _ = vlm
    bogus = broken["unknown_type"]
    with pytest.raises(ModelError) as err:
        LlamaChat(model, context_size=512, threads=1, mmproj=bogus)
    message = str(err.value)
    assert bogus.name in message and model.name in message
    assert "unknown projector type" in message  # llama.cpp's reason, hidden by verbose=False


def test_crashing_projector_is_caught_in_a_child_process(
    vlm: tuple[Path, Path], broken: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path))  # where LlamaChat keeps probe results
    model, mmproj = vlm
    crashing = broken["crashing"]
    with pytest.raises(ModelError) as err:
        probe_model(model, crashing, timeout=60)
    message = str(err.value)
    assert "crashed" in message and "SIGSEGV" in message
    assert crashing.name in message and model.name in message
    # This process survived; LlamaChat(probe=True) refuses the file before loading it here.
    with pytest.raises(ModelError, match="crashed"):
        LlamaChat(model, context_size=512, threads=1, mmproj=crashing, probe=True)
    chat = LlamaChat(model, context_size=512, threads=1, mmproj=mmproj, probe=True)
    chat.close()
    assert (tmp_path / "probed-models.json").is_file()  # the good pair is not probed again


def test_probe_reports_clean_failures_and_remembers_good_pairs(
    vlm: tuple[Path, Path], broken: dict[str, Path], tmp_path: Path
) -> None:
    model, mmproj = vlm
    with pytest.raises(ModelError, match="unknown projector type"):
        probe_model(model, broken["unknown_type"], timeout=60)
    cache = tmp_path / "probed.json"
    probe_model(model, mmproj, timeout=60, cache_file=cache)
    assert len(json.loads(cache.read_text())["passed"]) == 1
    start = time.perf_counter()
    probe_model(model, mmproj, timeout=60, cache_file=cache)  # cached: no child process
    assert time.perf_counter() - start < 0.5
    probe_model(model, timeout=60)  # a text model alone
