"""What `parley ask` refuses before any model loads (exit 2): a web address given as a file,
window-only options, choices that cannot work (a malformed --llm-url, --llm-vision without a
server, an unknown speech model or language). A typo costs no time this way."""

from __future__ import annotations

import argparse
import re
import sys

from app.config import Settings

_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|file:|data:)", re.IGNORECASE)


def choice_problem(args: argparse.Namespace, settings: Settings) -> str:
    """Command-line choices that cannot work, found before any model loads."""
    if getattr(args, "llm_vision", False) and not settings.llm_url:
        return (
            "--llm-vision is for a model on a server (--llm-url URL); the local model sees "
            "images through --mmproj FILE.gguf instead."
        )
    if getattr(args, "llm_url", None):  # given on the command line: a command-line error
        from app.llm.remote import address_problem

        problem = address_problem(settings.llm_url)
        if problem:
            return problem
    elif settings.llm_url:  # from settings.json: named there, and the local model answers
        from app.llm.remote import address_problem
        from app.paths import config_dir

        problem = address_problem(settings.llm_url)
        if problem:
            settings.llm_url = ""
            print(
                f"parley: In your settings ({config_dir() / 'settings.json'}), llm_url: "
                f"{problem} The local model answers instead; fix it in Settings or the file.",
                file=sys.stderr,
            )
    if getattr(args, "stt_model", None) or getattr(args, "stt_language", None):
        from app.stt.choice import speech_choice_problem

        return speech_choice_problem(settings.stt_model, settings.stt_language)
    return ""


_MODEL_PATHS = (("--llm-model", "llm_model"), ("--mmproj", "mmproj"), ("--voice", "voice"))


def not_a_file(args: argparse.Namespace) -> str:
    """Why a path option can't be used as it is given ('' when it can): a web address, which
    taken as a path would be mangled ("http:/…") and then reported as a missing file."""
    named = [("--audio", args.audio), ("--say", args.say)]
    named += [("--image", p) for p in args.image or []]
    named += [("--file", p) for p in getattr(args, "file", None) or []]
    # (a model or voice given as an address had been mangled to "https:/…" and called missing)
    named += [(o, getattr(args, a, None)) for o, a in _MODEL_PATHS]
    for option, given in named:
        if given and _ADDRESS.match(given):
            return (
                f"{option} {given[:200]} is a web address, not a file: Parley reads and writes "
                "only files on this computer. Download it first, then give its path"
                + (
                    " (`parley models` lists models it can download)."
                    if "model" in option or option == "--mmproj"
                    else "."
                )
            )
    return ""


# Options of the window that `ask` has no use for: it speaks into --say, never to a device.
DEVICE_OPTIONS = {
    "input_device": "--input-device: `ask` takes the question from --text or --audio, not the "
    "microphone. Drop --input-device (or run `parley` for the window)",
    "output_device": "--output-device: `ask` prints the reply and speaks it only into a file "
    "(--say OUT.wav), not to a speaker. Drop --output-device (or run `parley` for the window)",
}
