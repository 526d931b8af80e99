"""Which llama-cpp-python chat handler formats a vision model's prompt, chosen from the
metadata of the model and its projector (rules in `choose_handler`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.llm.vision.pair import VisionPair


@dataclass(frozen=True)
class HandlerChoice:
    name: str  # a class in llama_cpp.llama_chat_format
    reason: str


GENERIC = "MTMDChatHandler"
LLAVA15 = "Llava15ChatHandler"
_LLAVA_PROJECTORS = {"mlp", "mlp_norm", "ldp", "ldpv2"}


def available_handlers() -> set[str]:
    import llama_cpp.llama_chat_format as fmt

    return {n for n in dir(fmt) if n.endswith("ChatHandler") and isinstance(getattr(fmt, n), type)}


def choose_handler(pair: VisionPair, available: Collection[str]) -> HandlerChoice:
    """The chat handler for this pair; the first matching rule wins.

    Model-specific handlers where the installed llama-cpp-python has them (their prompt
    format is the one the model was trained with); otherwise the generic MTMD handler, which
    renders the chat template stored in the model. A model without a template falls back to
    the LLaVA-1.5 format.
    """
    ptype, arch, names = pair.projector_type, pair.model_arch, pair.names

    def pick(name: str, reason: str) -> HandlerChoice | None:
        return HandlerChoice(name, reason) if name in available else None

    rules: list[tuple[bool, str, str]] = [
        (
            ptype in ("qwen2vl_merger", "qwen2.5vl_merger") or arch in ("qwen2vl", "qwen25vl"),
            "Qwen25VLChatHandler",
            f"Qwen2/2.5-VL projector ({ptype})",
        ),
        (
            ptype in ("gemma3", "gemma3nv", "gemma4v") or arch.startswith(("gemma3", "gemma4")),
            "Gemma3ChatHandler" if "Gemma3ChatHandler" in available else "Gemma4ChatHandler",
            f"Gemma 3/4 vision ({ptype}, {arch})",
        ),
        ("moondream" in names, "MoondreamChatHandler", "moondream model"),
        ("nanollava" in names, "NanoLlavaChatHandler", "nanoLLaVA model"),
        (
            "llama-3-vision-alpha" in names or "llama3-vision-alpha" in names,
            "Llama3VisionAlphaChatHandler",
            "llama-3-vision-alpha model",
        ),
        ("obsidian" in names, "ObsidianChatHandler", "Obsidian model"),
        (
            ptype == "resampler" and (pair.minicpmv_version == 3 or "minicpm-v-2_6" in names),
            "MiniCPMv26ChatHandler",
            "MiniCPM-V 2.6 resampler",
        ),
        (ptype == "idefics3", GENERIC, "SmolVLM/Idefics3: the model's own template"),
    ]
    for matches, name, reason in rules:
        if matches and (choice := pick(name, reason)):
            return choice
    if pair.chat_template is None:
        # LLaVA-1.5 GGUFs carry no template; its USER:/ASSISTANT: format is also the most
        # neutral guess for any other model without one.
        why = "LLaVA projector" if ptype in _LLAVA_PROJECTORS else f"{ptype} projector"
        return HandlerChoice(LLAVA15, f"{why}, no chat template in the model: LLaVA-1.5 format")
    # A template stored in the model is the format it was fine-tuned with, LLaVA or not.
    return HandlerChoice(GENERIC, f"{ptype} projector: the model's own chat template")
