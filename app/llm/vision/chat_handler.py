"""llama-cpp-python's chat handlers wrapped by Parley: images are only ever read from `data:`
URIs, and prompts are formatted sensibly (a short system line, LLaVA-1.5's own format,
content flattened for stored templates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.llm.vision.handler_choice import available_handlers, choose_handler
from app.llm.vision.message_content import decode_image_url, flatten_content
from app.llm.vision.pair import VisionPair
from app.models.errors import ModelError

SHORT_SYSTEM = "You are a helpful assistant."

# LLaVA-1.5's own conversation format ("SYS USER: <image>\nQ ASSISTANT: A</s>USER: ..."). The stock
# Llava15ChatHandler template writes "USER:" twice for a string message and loses its newlines
# to trim_blocks; this one writes separators as expressions so they survive.
LLAVA15_FORMAT = (
    "{% for message in messages %}"
    "{% if message.role == 'system' %}"
    "{{ message.content + ' ' }}"
    "{% elif message.role == 'user' %}"
    "{{ 'USER: ' }}"
    "{% if message.content is string %}"
    "{{ message.content }}"
    "{% else %}"
    "{% for part in message.content %}"
    "{% if part.type == 'image_url' %}"
    "{{ part.image_url.url if part.image_url is mapping else part.image_url }}{{ '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% for part in message.content %}"
    "{% if part.type == 'text' %}{{ part.text }}{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "{{ ' ' }}"
    "{% elif message.role == 'assistant' and message.content %}"
    "{{ 'ASSISTANT: ' + message.content }}"
    "{{ eos_token.decode('utf-8', 'ignore') if eos_token is not string else eos_token }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


class _SafeImages:
    """Images come from data: URIs only; never from a file or the network."""

    def load_image(self, image_url: str) -> bytes:
        return decode_image_url(image_url)


class _FlattenedContent:
    """For handlers that render the model's stored template (MTMDChatHandler and kin)."""

    def _get_template_messages(self, messages: Sequence[Any], media_marker: str) -> list[Any]:
        return [
            {**dict(m), "content": flatten_content(m.get("content"), media_marker)}
            for m in messages
        ]


def handler_class(name: str) -> type:
    """llama-cpp-python's handler class `name`, wrapped by Parley's safety and format fixes."""
    import llama_cpp.llama_chat_format as fmt

    base = getattr(fmt, name, None)
    if not isinstance(base, type):
        raise ModelError(f"This llama-cpp-python has no chat handler named {name}.")
    attrs: dict[str, Any] = {}
    mixins: tuple[type, ...] = (_SafeImages,)
    if issubclass(base, fmt.MTMDChatHandler):
        mixins += (_FlattenedContent,)
    elif issubclass(base, fmt.Llava15ChatHandler):
        # The stock default system message is a paragraph; ours is a line. A handler whose
        # format has no system message (None) keeps None.
        if base.DEFAULT_SYSTEM_MESSAGE is not None:
            attrs["DEFAULT_SYSTEM_MESSAGE"] = SHORT_SYSTEM
        if base is fmt.Llava15ChatHandler:
            attrs["CHAT_FORMAT"] = LLAVA15_FORMAT
    return type(f"Parley{name}", (*mixins, base), attrs)


def create_chat_handler(pair: VisionPair, name: str | None = None, verbose: bool = False) -> Any:
    """The wrapped handler for this pair: `name` if given, else `choose_handler`'s pick."""
    name = name or choose_handler(pair, available_handlers()).name
    return handler_class(name)(clip_model_path=str(pair.mmproj), verbose=verbose)


def is_template_handler(handler: object) -> bool:
    """True for handlers that render the model's own chat template (MTMD-based)."""
    import llama_cpp.llama_chat_format as fmt

    return isinstance(handler, fmt.MTMDChatHandler)
