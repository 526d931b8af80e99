"""`parley ask --image` on the real default (text-only) model: the offline image reader."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import image_factory


def _ask(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    # The answers asserted on come in the first sentence; a full 256-token reply is ~20 s more.
    return subprocess.run(
        [sys.executable, "-m", "app", "ask", "--max-tokens", "48", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.models
def test_receipt_total_read_from_the_image(tmp_path):
    receipt = image_factory.receipt(tmp_path)
    run = _ask("--text", "What is the total on this receipt?", "--image", str(receipt), "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert image_factory.RECEIPT_TOTAL in out["reply"]
    assert out["images"] == ["receipt.png"]
    assert any("can't see images" in n for n in out["notices"])


@pytest.mark.models
def test_two_images_in_one_turn(tmp_path):
    receipt = image_factory.receipt(tmp_path)
    dialog = image_factory.dialog(tmp_path)
    run = _ask(
        "--text", "What does the error dialog say?",
        "--image", str(receipt), "--image", str(dialog), "--json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["images"] == ["receipt.png", "dialog.png"]
    assert "disk" in out["reply"].lower()


@pytest.mark.parametrize(
    "make, words",
    [
        (image_factory.truncated_png, "damaged or incomplete"),
        (image_factory.svg, "Parley accepts"),
        (image_factory.text_file, "Parley accepts"),
    ],
)
def test_unusable_images_are_refused_before_any_model_loads(tmp_path, make, words):
    path = make(tmp_path)
    run = _ask("--text", "What is this?", "--image", str(path), timeout=60)
    assert run.returncode == 2
    assert words in run.stderr and path.name in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


def test_missing_image_file(tmp_path):
    run = _ask("--text", "What is this?", "--image", str(tmp_path / "nope.png"), timeout=60)
    assert run.returncode == 2
    assert "nope.png" in run.stderr and "Traceback" not in run.stderr
