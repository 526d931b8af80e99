"""Starting a part of Parley in a child process (a model probe, a PDF reader, the self-test's
Qt check): `python -m module` from a checkout, the bundle's own executable when frozen (a
PyInstaller bundle has no `python -m`)."""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable

FLAG = "--run-module"  # parley --run-module app.llm.probe ARGS... (the bundle's way in)


def child_command(module: str) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, FLAG, module]
    return [sys.executable, "-m", module]


def run_module(argv: list[str]) -> int:
    """In the bundle's child: run `argv[0]` (a module of Parley's) as `python -m` would."""
    module, *args = argv
    if not module.startswith("app."):
        print(f"parley: {module} is not a part of Parley.", file=sys.stderr)
        return 2
    sys.argv = [module, *args]
    # A child speaks to its parent, not to a terminal: its output goes out byte for byte.
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0
    return 0


READER_MEMORY = 2 * 1024**3  # a document reader child's address space (pypdf, a DOCX's XML)


def limit_memory(max_bytes: int = READER_MEMORY) -> None:
    """Cap this (child) process's memory: a PDF or DOCX built to exhaust memory then ends
    in a MemoryError, a message for the user, instead of taking the machine's memory for as
    long as its time limit allows."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    except (ImportError, ValueError, OSError):  # not on this system: the time limit holds
        pass


def run_reader(main: Callable[[str], int]) -> None:
    """A document reader child's entry: `main(path)` under the memory cap; running out of
    memory is said in words the parent turns into a message, exit status 3."""
    limit_memory()
    try:
        sys.exit(main(sys.argv[1]))
    except MemoryError:
        print("MemoryError: it needs more memory than Parley gives a document", file=sys.stderr)
        sys.exit(3)
