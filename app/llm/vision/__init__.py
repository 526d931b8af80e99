"""Images for llama.cpp models: a vision model is a text GGUF plus an image projector (mmproj).

What lives here (the module in brackets):

- `read_gguf_header` (from app.models.gguf_info): a GGUF's metadata and tensor shapes without
  touching the weights, in milliseconds where `gguf.GGUFReader` takes seconds.
- `inspect_pair` (pair): checks that an mmproj and a language model belong together (it is a
  vision projector, it has a vision encoder, its output width is the model's embedding width),
  with a message naming both files. llama.cpp's own check only says "Failed to load mtmd
  context".
- `choose_handler` (handler_choice) / `create_chat_handler` (chat_handler): which
  llama-cpp-python chat handler formats the prompt, chosen from the metadata (rules in
  `choose_handler`), wrapped so that images are only ever read from `data:` URIs and so that
  prompts are formatted sensibly.
- `decode_image_url`, `image_urls`, `text_of`, `flatten_content` (message_content): the
  images and the text of one chat message.
- `init_handler` / `count_image_tokens` (projector_load): load the projector now (so a bad
  file fails at load, with llama.cpp's reason) and count what an image costs in the prompt.

Loading an unknown projector can crash the process outright; `app.llm.probe` tries it in a
child process first.
"""

from app.llm.vision.chat_handler import (
    LLAVA15_FORMAT,
    SHORT_SYSTEM,
    create_chat_handler,
    handler_class,
    is_template_handler,
)
from app.llm.vision.handler_choice import (
    GENERIC,
    LLAVA15,
    HandlerChoice,
    available_handlers,
    choose_handler,
)
from app.llm.vision.message_content import decode_image_url, flatten_content, image_urls, text_of
from app.llm.vision.pair import VisionPair, inspect_pair, pair_files
from app.llm.vision.projector_load import count_image_tokens, init_handler
from app.models.gguf_info import GgufHeader, SkippedArray, read_gguf_header

__all__ = [
    "GENERIC",
    "LLAVA15",
    "LLAVA15_FORMAT",
    "SHORT_SYSTEM",
    "GgufHeader",
    "HandlerChoice",
    "SkippedArray",
    "VisionPair",
    "available_handlers",
    "choose_handler",
    "count_image_tokens",
    "create_chat_handler",
    "decode_image_url",
    "flatten_content",
    "handler_class",
    "image_urls",
    "init_handler",
    "inspect_pair",
    "is_template_handler",
    "pair_files",
    "read_gguf_header",
    "text_of",
]
