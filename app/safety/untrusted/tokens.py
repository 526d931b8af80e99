"""Text from outside made plain text to the chat template: control tokens (ChatML, Llama 3,
Gemma, Mistral, Llama 2, DeepSeek, mtmd's media marker...) defused by swapping their brackets
for look-alikes, marker look-alikes and invisible characters taken out. llama.cpp tokenises
the formatted prompt with special tokens on, so a literal "<|im_end|>" would end the turn."""

from __future__ import annotations

import re

OPEN, CLOSE = "⟦", "⟧"  # marker brackets; never allowed inside the data

# <|im_start|>, <|eot_id|>, <|start_header_id|>, <|endoftext|>, <|image_pad|>... and DeepSeek's
# full-width-bar variant <｜begin▁of▁sentence｜>.
_BAR_TOKEN = re.compile(r"<\s*([|｜])[^<>\n]{0,64}?([|｜])\s*>")
_NAMED_ANGLE_TOKEN = re.compile(
    r"<\s*/?\s*(?:s|bos|eos|pad|unk|mask|sep|cls|start_of_turn|end_of_turn|start_of_image|"
    r"end_of_image|__media__|image|img|im_start|im_end|endoftext|think|tool_call|"
    r"tool_response|function_call|eot|eom|pre|suf|mid|fim_prefix|fim_middle|fim_suffix)\s*>",
    re.IGNORECASE,
)
_SYS_TOKEN = re.compile(r"<<\s*/?\s*SYS\s*>>", re.IGNORECASE)
_BRACKET_TOKEN = re.compile(
    r"\[\s*/?\s*(?:INST|SYS|SYSTEM_PROMPT|TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|"
    r"TOOL_CONTENT|IMG|IMG_BREAK|IMG_END|PREFIX|MIDDLE|SUFFIX|THINK)\s*\]",
    re.IGNORECASE,
)
# Text that imitates our own markers, with or without the brackets.
FAKE_MARKER = re.compile(
    r"\b(BEGIN|END|START|STOP)([\s_:-]{0,3})(UNTRUSTED|IMAGE|DOCUMENT|FILE)"
    r"([\s_:-]{0,3})(DATA|TEXT|CONTENT|BLOCK)?\b",
    re.IGNORECASE,
)
# C0/C1 controls except tab and newline, bidi overrides and zero-width characters: they can
# hide or reorder text so that what the user sees differs from what the model reads.
INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _defuse_angles(match: re.Match[str]) -> str:
    return match.group(0).replace("<", "‹").replace(">", "›")


def _defuse_brackets(match: re.Match[str]) -> str:
    return match.group(0).replace("[", "(").replace("]", ")")


def neutralise(text: str) -> str:
    """`text` with chat-template control tokens, marker look-alikes and invisible characters
    made harmless. Readable text stays readable: only brackets change."""
    text = INVISIBLE.sub("", text)
    text = defuse_tokens(text.replace(OPEN, "[").replace(CLOSE, "]"))
    return FAKE_MARKER.sub(lambda m: "(quoted) " + m.group(0).lower(), text)


def defuse_tokens(text: str) -> str:
    """`text` with chat-template control tokens made plain text, and nothing else changed:
    for the user's own words, where pasted "<|im_start|>system" would otherwise become a real
    system turn (it did: the model then answered only "PWNED")."""
    text = _BAR_TOKEN.sub(_defuse_angles, text)
    text = _SYS_TOKEN.sub(_defuse_angles, text)
    text = _NAMED_ANGLE_TOKEN.sub(_defuse_angles, text)
    return _BRACKET_TOKEN.sub(_defuse_brackets, text)


def has_control_tokens(text: str) -> bool:
    """Whether `text` contains chat-template control tokens (before neutralising)."""
    text = INVISIBLE.sub("", text)
    return any(p.search(text) for p in (_BAR_TOKEN, _NAMED_ANGLE_TOKEN, _SYS_TOKEN, _BRACKET_TOKEN))
