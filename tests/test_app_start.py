"""The real entry point: `python -m app` opens the window before the models are ready, then
loads all three; with no display it says so instead of crashing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def start_app(config: Path) -> dict:
    """`python -m app` offscreen with settings in `config`, quitting once all models are
    ready; its start-up report (times, the error messages the window showed)."""
    report = config / "startup.json"
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PARLEY_STARTUP_REPORT=str(report),
        PARLEY_CONFIG_DIR=str(config),
        PARLEY_LAUNCH_T=repr(time.time()),
    )
    run = subprocess.run(
        [sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    return json.loads(report.read_text())


@pytest.mark.models
def test_window_shows_first_then_all_models_load_and_the_welcome_comes_once(tmp_path):
    figures = start_app(tmp_path)
    assert {"stt_ready", "llm_ready", "tts_ready"} <= figures.keys(), figures
    assert figures["window_shown"] < figures["all_ready"]
    assert not [e for e in figures["errors"] if "settings" in e]
    assert figures["welcome"]  # a first start greets the user...
    assert json.loads((tmp_path / "settings.json").read_text())["welcomed"] is True
    assert not start_app(tmp_path)["welcome"]  # ...and only the first


@pytest.mark.models
def test_a_damaged_settings_file_is_said_in_the_window(tmp_path):
    (tmp_path / "settings.json").write_text('{"llm_url": "http://host:8080/v1",}')
    errors = start_app(tmp_path)["errors"]  # (no microphone here may be another)
    [error] = [e for e in errors if "settings" in e]
    assert "settings file was damaged" in error and "settings.json.bad-" in error
    [aside] = tmp_path.glob("settings.json.bad-*")
    assert "http://host:8080/v1" in aside.read_text()


def test_no_display_is_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env["PARLEY_CONFIG_DIR"] = str(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "no display found" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_display_nobody_answers_on_is_a_clear_message(tmp_path):
    """A stale DISPLAY (X forwarding gone) let Qt abort the process: rc 134, no parley line."""
    import socket

    from app.ui.display_check import display_problem

    with socket.socket() as listener:  # an X server over TCP, as SSH forwarding makes one
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        number = listener.getsockname()[1] - 6000
        assert display_problem({"DISPLAY": f"127.0.0.1:{number}.0"}) == ""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env |= {"DISPLAY": f"127.0.0.1:{number}.0", "PARLEY_CONFIG_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert f"cannot reach display 127.0.0.1:{number}.0" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
