"""Command line: `parley` (the window), `parley ask`, `parley listen`, `parley chats`,
`parley devices`, `parley models`, `parley --version`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from app import __version__
from app.cli.history_options import add_history_options, add_listen_parser
from app.config import LIMITS, Settings, out_of_range
from app.safety.terminal import guarded_output


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm-model", metavar="GGUF", help="a .gguf LLM instead of the default")
    p.add_argument("--mmproj", metavar="GGUF", help="the image projector of a vision --llm-model")
    p.add_argument(
        "--llm-url",
        metavar="URL",
        help="use the model on this OpenAI-compatible server (llama.cpp, vLLM, Ollama, "
        'LM Studio), e.g. http://host:8080/v1; "" for the local model',
    )
    p.add_argument("--llm-model-name", metavar="NAME", help="the model to ask for at --llm-url")
    p.add_argument(
        "--llm-key",
        metavar="KEY",
        help="API key for --llm-url (visible to other users in the process list: "
        "prefer the PARLEY_LLM_API_KEY environment variable)",
    )
    p.add_argument("--llm-vision", action="store_true", help="the --llm-url model can see images")
    p.add_argument(
        "--stt-model",
        metavar="NAME|DIR",
        help='speech model: "tiny.en" (the default, English), "base" (multilingual) or a '
        "faster-whisper model folder",
    )
    p.add_argument(
        "--stt-language",
        metavar="CODE",
        help='the language you speak, e.g. "de" (needs a multilingual model); "" to detect it',
    )
    p.add_argument("--voice", metavar="ONNX", help="a piper voice (.onnx with its .onnx.json)")
    p.add_argument("--input-device", metavar="NAME|INDEX", help="microphone (see `parley devices`)")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="speaker (see `parley devices`)")


def _add_window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hands-free",
        action="store_true",
        help="open the window in hands-free mode: talk without holding a key",
    )


def _limited(setting: str) -> Callable[[str], int]:
    """An argparse type: a whole number within the setting's limits (app.config.LIMITS)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        why = out_of_range(setting, value)
        if why:
            low, high, unit = LIMITS[setting]
            raise argparse.ArgumentTypeError(
                f"must be from {low:g} to {high:g} {unit}, not {value}"
            )
        return value

    return parse


_LARGEST = 2**63 - 1  # SQLite's largest INTEGER
_PATH_METAVARS = {"PATH", "IN.WAV", "OUT.WAV", "FILE", "GGUF", "ONNX", "NAME|DIR"}


class _Parser(argparse.ArgumentParser):
    """Mistakes on the command line get one line, like every other Parley message, not the
    whole usage text."""

    def _get_value(self, action: argparse.Action, arg_string: str) -> object:
        value = super()._get_value(action, arg_string)  # type: ignore[misc]
        # Every whole number Parley takes (a chat or message ID, a count) ends in SQLite or
        # a C library, which refuse numbers past 64 bits with an OverflowError traceback.
        if action.type is int and isinstance(value, int) and abs(value) > _LARGEST:
            name = "/".join(action.option_strings) or action.metavar or action.dest.upper()
            self.error(f"{name} is too large: {arg_string[:30]} (the most is {_LARGEST:,})")
        return value

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._argv = list(sys.argv[1:] if args is None else args)  # for _dash_hint
        return super().parse_known_args(args, namespace)

    def _dash_hint(self, message: str) -> str:
        """argparse takes a value that starts with a dash (`--text -h`, `--file -rf.txt`) for
        an option and says the option has no value: say how to give it."""
        missing = re.fullmatch(r"argument (\S+): expected one argument", message)
        argv = getattr(self, "_argv", [])
        if not missing:
            return message
        names = missing[1].split("/")  # "-o/--output": whichever was typed
        option = next((n for n in names if n in argv[:-1]), names[-1])
        given = argv[argv.index(option) + 1] if option in argv[:-1] else ""
        if not given.startswith("-"):
            return message
        action = next((a for a in self._actions if option in a.option_strings), None)
        path = action is not None and (action.metavar or "").upper() in _PATH_METAVARS
        fix = f"{option} ./{given}" if path else f"{option}={given}"
        return f"{option} needs a value; if {given} is meant as its value, write {fix}"

    def error(self, message: str) -> NoReturn:
        message = self._dash_hint(message)
        for action in self._actions:
            # argparse names a missing subcommand by its variable ("chats_command").
            if isinstance(action, argparse._SubParsersAction) and message.endswith(
                f"required: {action.dest}"
            ):
                names = list(action.choices)
                listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
                message = f"`{self.prog}` needs a command: {listed}"
        # argparse's "argument --chat: invalid int value: 'abc'", in words.
        number = re.fullmatch(r"argument (\S+): invalid int value: (.*)", message)
        if number:
            message = f"{number[1]} must be a whole number, not {number[2]}"
        said = f"{message[:1].upper()}{message[1:]}"
        self.exit(2, f"parley: {said}. `{self.prog} --help` lists the options.\n")


# The values Parley sends to a model or stores as text. Python hands bytes that are not
# UTF-8 over as lone surrogates, which fail much later ("UnicodeEncodeError ... surrogates
# not allowed" from the model or SQLite). Paths are not here: such a name is a real file.
_TEXT_VALUES = {
    "text": "--text",
    "title": "TITLE",
    "instructions": "--instructions",
    "name": "NAME",
    "new_name": "--name",
    "correction": "--correction",
    "assistant": "--assistant",
}


def _not_utf8(args: argparse.Namespace) -> str:
    """The option whose text is not valid UTF-8 ('' when all are)."""
    for dest, said in _TEXT_VALUES.items():
        value = getattr(args, dest, None)
        if isinstance(value, str) and re.search("[\ud800-\udfff]", value):
            return said
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="parley",
        description="Parley: a local, private voice assistant. With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"parley {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="load every library and model runtime once and say which work",
    )
    _add_model_options(parser)
    _add_window_options(parser)
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the window (the default)")
    _add_model_options(gui)
    _add_window_options(gui)

    ask = sub.add_parser("ask", help="run one turn headless and print the reply")
    src = ask.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", metavar="T", help="the question, typed")
    src.add_argument("--audio", metavar="IN.wav", help="the question, spoken in an audio file")
    ask.add_argument(
        "--image",
        action="append",
        metavar="PATH",
        help="attach an image (PNG, JPEG, WebP, GIF, BMP); repeat for several",
    )
    ask.add_argument(
        "--file",
        action="append",
        metavar="PATH",
        help="a document to answer from (text, Markdown, code, HTML, DOCX, PDF); repeatable",
    )
    ask.add_argument("--say", metavar="OUT.wav", help="also speak the reply into this WAV file")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument(
        "--realtime",
        action="store_true",
        help="with --audio: feed the file at real-time pace as if spoken with the key held; "
        "first_audio counts from the end of the file",
    )
    ask.add_argument(
        "--max-tokens", type=_limited("llm_max_tokens"), help="longest reply, in tokens"
    )
    ask.add_argument(
        "--no-tools", action="store_true", help="the model may not use the calculator or calendar"
    )
    ask.add_argument(
        "--think", action="store_true", help="reason in a hidden scratchpad before answering"
    )
    add_history_options(ask, chat=True)
    ask.add_argument(
        "--assistant", metavar="NAME", help="who answers a new chat (see `parley assistants`)"
    )
    _add_model_options(ask)

    _add_model_options(add_listen_parser(sub))
    sub.add_parser("devices", help="list audio input and output devices")
    sub.add_parser("prepare", help="assemble and verify the offline default models")
    from app.cli.models import add_models_parser

    add_models_parser(sub)
    from app.cli.chats import add_chats_parser

    add_chats_parser(sub)
    from app.cli.assistants import add_assistants_parser

    add_assistants_parser(sub)
    from app.cli.feedback import add_feedback_parsers

    add_feedback_parsers(sub)
    return parser


def settings_from_args(args: argparse.Namespace, problems: list[str] | None = None) -> Settings:
    """The saved settings with the command line's choices on top; `problems` collects what
    in the settings file could not be used."""
    settings, found = Settings.load_checked()
    if problems is not None:
        problems.extend(found)
    for attr, field in (
        ("llm_model", "llm_model"),
        ("mmproj", "llm_mmproj"),
        ("stt_model", "stt_model"),
        ("voice", "tts_voice"),
        ("input_device", "input_device"),
        ("output_device", "output_device"),
    ):
        value = getattr(args, attr, None)
        if value:
            setattr(settings, field, value)
    if getattr(args, "max_tokens", None) is not None:
        settings.llm_max_tokens = args.max_tokens
    language = getattr(args, "stt_language", None)
    if language is not None:  # "" is a choice too: detect the language
        settings.stt_language = language.strip().lower()
    url = getattr(args, "llm_url", None)
    if url is not None:
        settings.llm_url = url.strip()
    elif getattr(args, "llm_model", None):
        settings.llm_url = ""  # a local model named on the command line beats a remote one
    for attr, field in (("llm_model_name", "llm_remote_model"), ("llm_key", "llm_api_key")):
        value = getattr(args, attr, None)
        if value:
            setattr(settings, field, value)
    if getattr(args, "no_tools", False):
        settings.tools = False
    if getattr(args, "think", False):
        settings.think_first = True
    if getattr(args, "llm_vision", False):
        settings.llm_remote_vision = True
    return settings


@guarded_output
def main(argv: Sequence[str] | None = None) -> int:
    from app.child import FLAG, run_module

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [FLAG]:  # a child process of the bundle (app/child.py)
        return run_module(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    not_text = _not_utf8(args)
    if not_text:
        parser.error(
            f"{not_text} holds bytes that are not UTF-8 text; set your terminal (or the "
            "script that runs Parley) to UTF-8 and type it again"
        )
    from app.logs import setup_logging

    setup_logging(args.verbose)
    from app.storage.private import make_private

    make_private()  # before anything is written: an older install's folders are fixed too
    if args.self_test:
        from app.cli.self_test import self_test

        return self_test()
    if args.command == "models":
        from app.cli.models import run_models

        return run_models(args)
    if args.command == "chats":
        from app.cli.chats import run_chats

        return run_chats(args)
    problems: list[str] = []
    settings = settings_from_args(args, problems)
    if args.command is not None:  # the window shows them in the conversation instead
        for problem in problems:
            print(f"parley: {problem}", file=sys.stderr)
    if args.command in ("rate", "export-dataset"):
        from app.cli.feedback import run_feedback

        return run_feedback(args, settings)
    if args.command == "assistants":
        from app.cli.assistants import run_assistants

        return run_assistants(args, settings)
    if args.command == "ask":
        from app.cli.ask import run_ask

        return run_ask(args, settings)
    if args.command == "listen":
        from app.cli.listen import run_listen

        return run_listen(args, settings)
    if args.command == "devices":
        from app.cli.devices import list_devices

        return list_devices()
    if args.command == "prepare":
        from app.cli.devices import prepare_models

        return prepare_models()
    from app.ui.app import run_gui

    # --hands-free is for this run: not written into the settings the window may save
    return run_gui(settings, problems=problems, hands_free=bool(getattr(args, "hands_free", 0)))


if __name__ == "__main__":
    sys.exit(main())
