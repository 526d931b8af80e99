"""A turn with an image on a vision model (the tiny one the tests build): the pipeline sends
the pixels as an in-memory data: URI, with no OCR detour, and the CLI takes --mmproj."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from app.bus import EventBus
from app.bus.events import Notice, TurnFinished
from app.llm.llama import LlamaChat
from app.pipeline.attachments import READING_TEXT_ONLY
from app.pipeline.turns import TurnManager
from app.vision.images import prepare_image
from tests import image_factory
from tests.tiny_vlm import build_tiny_vlm


class Spy:
    """The real tiny vision model, recording the prompts it was given."""

    def __init__(self, inner: LlamaChat) -> None:
        self.inner = inner
        self.prompts: list[list] = []
        self.name = inner.name
        self.context_size = inner.context_size
        self.supports_vision = inner.supports_vision

    def count_tokens(self, messages):
        return self.inner.count_tokens(messages)

    def stream_chat(self, messages, max_tokens, temperature):
        self.prompts.append(messages)
        return self.inner.stream_chat(messages, max_tokens, temperature)


def test_image_goes_to_a_vision_model_as_pixels(tmp_path, settings, real_models):
    model, mmproj = build_tiny_vlm(tmp_path / "vlm")
    spy = Spy(LlamaChat(model, context_size=1024, threads=1, mmproj=mmproj))
    assert spy.supports_vision
    image = prepare_image(image_factory.receipt(tmp_path))
    settings.llm_max_tokens = 8

    async def main() -> tuple[TurnFinished, list[Notice], TurnManager]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        engines = real_models.engines(bus, settings)
        engines.llm_factory = lambda _s, _p: spy
        engines.start(("llm",))
        turns = TurnManager(bus, engines, settings, sink=None)
        notices: list[Notice] = []
        bus.subscribe(Notice, notices.append)
        done: asyncio.Future[TurnFinished] = loop.create_future()
        bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
        turns.attach(image)
        turns.ask("What is in this picture?")
        result = await asyncio.wait_for(done, 60)
        engines.shutdown()
        return result, notices, turns

    result, notices, turns = asyncio.run(main())
    assert not any(n.message == READING_TEXT_ONLY for n in notices)
    last = spy.prompts[-1][-1]
    assert last["role"] == "user" and isinstance(last["content"], list)
    urls = [p["image_url"]["url"] for p in last["content"] if p["type"] == "image_url"]
    assert urls == [image.data_uri()] and urls[0].startswith("data:image/")
    texts = [p["text"] for p in last["content"] if p["type"] == "text"]
    assert texts == ["What is in this picture?"]  # no OCR block for a model that sees
    # The history keeps words, not pixels: later turns don't re-send the image.
    assert turns.history.messages[0]["content"].endswith("[The user attached: receipt.png]")
    assert result.interrupted is False


def test_cli_with_mmproj_sees_instead_of_reading(tmp_path):
    model, mmproj = build_tiny_vlm(tmp_path / "vlm")
    image = image_factory.dialog(tmp_path)
    env = dict(os.environ, PARLEY_DATA_DIR=str(tmp_path / "data"),
               PARLEY_CONFIG_DIR=str(tmp_path / "config"))  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "app", "ask", "--llm-model", str(model), "--mmproj", str(mmproj),
         "--image", str(image), "--text", "Describe it.", "--max-tokens", "8", "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["images"] == ["dialog.png"]
    assert not any("can't see images" in n for n in out["notices"])
    assert "Traceback" not in run.stderr
