"""`parley --self-test`: every native library and model runtime, loaded and used once."""

from __future__ import annotations

import os

import pytest

from tests.realtools import parley

RUNTIMES = ["llama.cpp", "CTranslate2", "voice activity", "piper voice", "OCR", "PortAudio", "Qt"]


@pytest.mark.models
def test_the_self_test_loads_every_runtime() -> None:
    run = parley("--self-test", timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for name in RUNTIMES:
        [line] = [ln for ln in lines if ln[5:].startswith(name)]
        assert line.startswith("ok "), line
    assert "vocabulary reads" in run.stdout  # the default model itself, not only the library
    assert run.stderr == ""


@pytest.mark.models
def test_a_runtime_that_cannot_start_is_named_and_fails_the_test() -> None:
    """Qt asked for the X11 plugin with no X server: the child aborts, the self-test says so."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    run = parley("--self-test", env=env, timeout=120)
    assert run.returncode == 1
    [qt] = [ln for ln in run.stdout.splitlines() if ln[5:].startswith("Qt")]
    assert qt.startswith("FAIL") and "xcb" in qt
    assert run.stderr.strip() == "parley: the self-test failed: Qt."
    assert "Traceback" not in run.stdout + run.stderr
