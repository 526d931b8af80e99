"""llama.cpp through llama-cpp-python, using the chat template stored in the GGUF.

With an image projector (`mmproj`) the model also sees images: user messages may then carry
OpenAI-style content parts, `{"type": "image_url", "image_url": {"url": "data:image/png;..."}}`
next to `{"type": "text", "text": ...}`. Only data: URIs are accepted; see app/llm/vision/.
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.llm.base import Message
from app.llm.fixed_start import prompt_head, start_from
from app.llm.load import check_gguf, load_llama
from app.llm.template_check import check_chat_template
from app.models.errors import ModelError
from app.stream_filter import close_stream

log = logging.getLogger(__name__)


# Per message: role header and end-of-turn markers of common templates (ChatML uses 5).
_TEMPLATE_OVERHEAD = 8
# A prompt with at least this many new tokens to read reports its progress (under it the
# reading takes a couple of seconds at the ~100 tokens/s two cores manage).
PROGRESS_MIN_TOKENS = 200


def _within_training(model_path: Path, context_size: int) -> int:
    """`context_size`, but no more than the model was trained for: past it, replies degrade
    (and llama.cpp says so on stderr, in the user's terminal)."""
    from app.models.gguf_info import read_gguf_header

    try:
        header = read_gguf_header(model_path)
    except (ModelError, OSError, ValueError):
        return context_size  # llama.cpp will say what is wrong with the file
    trained = header.kv.get(f"{header.architecture}.context_length")
    if isinstance(trained, int) and 0 < trained < context_size:
        log.info("%s was trained on %d tokens of context: using that", model_path.name, trained)
        return trained
    return context_size


_open_chats: weakref.WeakSet[LlamaChat] = weakref.WeakSet()


@atexit.register
def _close_open_chats() -> None:
    # A Llama freed by the garbage collector during interpreter shutdown frees its mtmd
    # context inside llama-cpp-python's stdout/stderr redirect, whose /dev/null file is
    # already closed by then: a traceback on every exit. Closing while all is alive avoids it.
    for chat in list(_open_chats):
        chat.close()


# How many image tokens' counts to remember (counting preprocesses the image again).
_IMAGE_COUNT_CACHE = 64


class LlamaChat:
    """A llama.cpp chat model; with `mmproj` (an image projector .gguf) it also sees images.

    `chat_handler` names a llama-cpp-python handler class to force one (tests, unusual
    models); by default app.llm.vision.choose_handler picks it from the GGUF metadata.
    `probe=True` first loads the files in a child process (app.llm.probe), so a file that
    would crash llama.cpp is refused with a message instead of taking the app down; pairs
    that passed are remembered in the data directory.
    """

    def __init__(
        self,
        model_path: Path,
        context_size: int = 4096,
        threads: int = 0,
        mmproj: Path | None = None,
        chat_handler: str | None = None,
        probe: bool = False,
    ) -> None:
        check_gguf(model_path)
        threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self.vision: Any = None  # app.llm.vision.VisionPair when the model sees images
        self.handler_name: str | None = None
        handler: Any = None
        if mmproj is not None:
            from app.llm import vision

            self.vision = vision.inspect_pair(model_path, Path(mmproj))
            if chat_handler:
                self.handler_name, reason = chat_handler, "chosen by the caller"
            else:
                choice = vision.choose_handler(self.vision, vision.available_handlers())
                self.handler_name, reason = choice.name, choice.reason
            log.info("images for %s through %s: %s", model_path.name, self.handler_name, reason)
        if probe:
            from app.config import data_dir
            from app.llm.probe import probe_model

            # Remembered by path, size and mtime: the extra load is paid once per file pair.
            cache = data_dir() / "probed-models.json"
            probe_model(model_path, mmproj, threads=threads, cache_file=cache)
        if self.vision is not None:
            handler = vision.create_chat_handler(self.vision, self.handler_name)
        context_size = _within_training(model_path, context_size)
        kwargs: dict[str, Any] = {
            "model_path": str(model_path),
            "n_ctx": context_size,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_batch": 256,
            "verbose": False,
        }
        if handler is not None:
            kwargs["chat_handler"] = handler
        try:
            self.llm: Any = load_llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {model_path.name}: the file is damaged or uses an "
                "architecture this version does not support. Download it again or choose "
                "another model in Settings."
            ) from exc
        try:
            check_chat_template(self.llm, model_path.name)
        except ModelError:
            self.llm.close()
            raise
        self._handler = handler
        self._last_multimodal = False
        self._image_counts: dict[str, int] = {}
        if handler is not None:
            try:
                # llama-cpp-python loads the projector on the first image; load it now so a
                # bad one fails here, as a ModelError with llama.cpp's reason.
                vision.init_handler(handler, self.llm, self.vision)
            except ModelError:
                self.llm.close()
                raise
        self.name = model_path.stem
        self.threads = threads
        # Asked between tokens: how many threads to use now (Engines leaves cores to piper and
        # whisper while they run; see Engines.llm_threads_now). None: always `threads`.
        self.threads_now: Callable[[], int] | None = None
        self._threads_set = threads
        self.model_path = model_path  # what the model panel shows, and pairs a projector with
        self.mmproj_path = Path(mmproj) if mmproj is not None else None
        self.context_size = self.llm.n_ctx()
        self._prompt_listener: Callable[[int, int], None] | None = None
        self._watch_prompt()
        _open_chats.add(self)

    def _watch_prompt(self) -> None:
        """Report the reading of a long prompt. llama-cpp-python evaluates all of the prompt
        not already in the KV cache with one `eval` call, which decodes it batch by batch
        (n_batch tokens each); both are wrapped on this instance to count the batches."""
        llm = self.llm
        inner_eval, inner_decode = llm.eval, llm._ctx.decode
        reading = {"total": 0, "done": 0}

        def evaluate(tokens: Any) -> Any:
            if self._prompt_listener is None or len(tokens) < PROGRESS_MIN_TOKENS:
                return inner_eval(tokens)
            reading.update(total=len(tokens), done=0)
            try:
                return inner_eval(tokens)
            finally:
                reading["total"] = 0

        def decode(batch: Any) -> Any:
            result = inner_decode(batch)
            listener = self._prompt_listener
            if reading["total"] and listener is not None:
                reading["done"] = min(reading["total"], reading["done"] + batch.batch.n_tokens)
                try:
                    listener(reading["done"], reading["total"])
                except Exception:  # a listener's failure must not cost the reply
                    log.exception("prompt progress listener failed")
            return result

        llm.eval = evaluate
        llm._ctx.decode = decode

    @property
    def supports_vision(self) -> bool:
        return self._handler is not None

    def close(self) -> None:
        """Free the model (and projector) now rather than whenever the GC gets to it."""
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None
        _open_chats.discard(self)

    def _image_tokens(self, url: str) -> int:
        if self._handler is None:
            return 0  # stream_chat refuses images on a model that cannot see
        count = self._image_counts.get(url)
        if count is None:
            from app.llm import vision

            try:
                count = vision.count_image_tokens(self._handler, vision.decode_image_url(url))
            except ValueError:
                count = self.vision.image_tokens_estimate
            if len(self._image_counts) >= _IMAGE_COUNT_CACHE:
                self._image_counts.pop(next(iter(self._image_counts)))
            self._image_counts[url] = count
        return count

    def count_tokens(self, messages: list[Message]) -> int:
        from app.llm.vision import image_urls, text_of

        total = _TEMPLATE_OVERHEAD
        for m in messages:
            content: Any = m["content"]
            text = text_of(content)
            total += len(self.llm.tokenize(text.encode(), add_bos=False, special=False))
            total += _TEMPLATE_OVERHEAD + sum(self._image_tokens(u) for u in image_urls(content))
        return total

    def _prepare(self, messages: list[Message]) -> tuple[list[dict[str, Any]], bool]:
        """Validated messages for llama-cpp-python, and whether any carries an image."""
        from app.llm.vision import decode_image_url, image_urls, text_of

        prepared: list[dict[str, Any]] = []
        has_images = False
        for m in messages:
            content: Any = m["content"]
            if isinstance(content, list):
                urls = image_urls(content)
                if urls and m["role"] != "user":
                    raise ValueError("Only user messages may carry images")
                if urls and self._handler is None:
                    raise ValueError(
                        f"{self.name} cannot see images: it was loaded without an image "
                        "projector (mmproj)."
                    )
                for url in urls:
                    decode_image_url(url)  # refuses anything but a data: image, before llama.cpp
                if not urls:
                    content = text_of(content)  # plain text works with every chat format
                has_images = has_images or bool(urls)
            elif content is not None and not isinstance(content, str):
                raise ValueError(f"Unsupported message content: {type(content).__name__}")
            prepared.append({**m, "content": content})
        return prepared, has_images

    supports_grammar = True  # stream_chat(grammar=GBNF) constrains the reply
    supports_progress = True  # stream_chat(progress=...) hears a long prompt being read

    def stream_chat(
        self,
        messages: list[Message],
        max_tokens: int,
        temperature: float,
        grammar: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[str]:
        """Reply text pieces as generated. Bad images raise ValueError here, before any work.
        `grammar` (GBNF) constrains what may be generated (a tool call); `progress` hears
        (done, total) tokens while a long prompt is read."""
        self._grammar = grammar
        prepared, has_images = self._prepare(messages)
        llm = self.llm
        text_only = self._handler is not None and not has_images
        handlers = getattr(llm, "_chat_handlers", {})
        plain = handlers.get("chat_template.default") if text_only else None
        from app.llm.vision import is_template_handler

        fixed = temperature == 0 and not has_images  # greedy: the same reply every time
        head: list[int] | None = None
        if plain is not None and is_template_handler(self._handler):
            # The MTMD handler clears the KV cache on every call; a turn without images goes
            # through the same stored template directly and keeps llama.cpp's prompt cache.
            if self._last_multimodal:
                llm.reset()  # image positions left stale token ids: no prefix reuse across them
            self._last_multimodal = False
            saved = llm.chat_handler
            llm.chat_handler = None
            saved_format, llm.chat_format = llm.chat_format, "chat_template.default"
            try:
                head = prompt_head(llm, prepared) if fixed else None
                stream = self._create(prepared, max_tokens, temperature)
            finally:
                llm.chat_handler, llm.chat_format = saved, saved_format
        else:
            self._last_multimodal = self._handler is not None
            head = prompt_head(llm, prepared) if fixed and self._handler is None else None
            stream = self._create(prepared, max_tokens, temperature)
        return self._pieces(stream, progress, head)

    def _create(self, messages: list[dict[str, Any]], max_tokens: int, temperature: float) -> Any:
        extra: dict[str, Any] = {}
        grammar = getattr(self, "_grammar", None)
        if grammar:
            from llama_cpp import LlamaGrammar

            cache = self.__dict__.setdefault("_grammars", {})
            if grammar not in cache:
                cache[grammar] = LlamaGrammar.from_string(grammar, verbose=False)
            extra["grammar"] = cache[grammar]
        return self.llm.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            max_tokens=max_tokens,
            temperature=temperature,
            **extra,
        )

    def _pieces(
        self,
        stream: Any,
        progress: Callable[[int, int], None] | None = None,
        head: list[int] | None = None,
    ) -> Iterator[str]:
        try:
            while True:
                self._adapt_threads()
                self._prompt_listener = progress  # the prompt is read at the first next()
                try:
                    if head is not None:
                        start_from(self.llm, head, self.llm.eval)
                        head = None
                    part = next(stream, None)
                finally:
                    self._prompt_listener = None
                if part is None:
                    break
                delta = part["choices"][0].get("delta", {})  # type: ignore[index]
                text = delta.get("content")
                if text:
                    yield text
        finally:
            close_stream(stream)

    def _adapt_threads(self) -> None:
        """Before the next decode (on the LLM worker): llama.cpp's threads wait for each other
        in a spin barrier at every step, so with another engine on one of two cores both
        threads crawl (measured here: 25 tokens/s alone, 6 with piper running; with one
        thread 14 and 14, and piper unslowed)."""
        if self.threads_now is None or self.llm is None:
            return
        wanted = max(1, min(self.threads, self.threads_now()))
        if wanted != self._threads_set:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self.llm._ctx.ctx, wanted, wanted)
            self._threads_set = wanted

    def warm_up(self, system_prompt: str = "") -> None:
        """Run one tiny turn. With the app's system prompt, that prompt then stays in the KV
        cache, and the first real turn evaluates only its own new tokens."""
        messages: list[Message] = [{"role": "user", "content": "Hi"}]
        if system_prompt:
            messages.insert(0, {"role": "system", "content": system_prompt})
        for _ in self.stream_chat(messages, 1, 0.0):
            pass
