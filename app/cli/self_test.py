"""`parley --self-test`: every native library and model runtime Parley needs, loaded and used
once, so a broken install (a bundle missing a library, a wheel built for another CPU, no
PortAudio) is named in one line instead of failing later in front of the user.

Each check does real work: llama.cpp reads the default model's vocabulary, CTranslate2 loads
the speech model, onnxruntime runs the voice and the OCR models and the VAD, PortAudio lists
the devices, and Qt opens a window on the platform plugin in a child process (a missing xcb
library aborts a process, so not this one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.child import child_command

QT_FLAG = "--self-test-qt"  # the child process's entry (see app/__main__.py)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def _llama() -> str:
    import llama_cpp

    from app.models.defaults import default_llm_target

    features = llama_cpp.llama_print_system_info().decode(errors="replace")
    features = features.split(":", 1)[-1] if features.startswith("CPU") else features
    flags = [f.split(" = ")[0].strip() for f in features.split("|") if "= 1" in f]
    target = default_llm_target()
    detail = f"llama-cpp-python {llama_cpp.__version__}, CPU: {', '.join(flags[:6]) or 'basic'}"
    if target.is_file():
        from llama_cpp._utils import suppress_stdout_stderr

        from app.llm.load import load_llama

        with suppress_stdout_stderr(disable=False):  # llama.cpp's own notes on fd 2
            model: Any = load_llama(
                model_path=str(target), vocab_only=True, n_ctx=64, verbose=False
            )
        tokens = model.tokenize(b"Hello, Parley")
        model.close()
        detail += f"; the default model's vocabulary reads ({len(tokens)} tokens)"
    else:
        detail += "; the default model is not joined yet (`parley prepare`)"
    return detail


def _ctranslate2() -> str:
    import ctranslate2
    from faster_whisper import WhisperModel

    from app.models.defaults import default_stt_model

    model = WhisperModel(str(default_stt_model()), device="cpu", compute_type="int8", cpu_threads=1)
    del model
    return f"CTranslate2 {ctranslate2.__version__}, speech model loaded"


def _vad() -> str:
    import faster_whisper
    import onnxruntime

    path = Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = len(session.get_inputs())
    return f"onnxruntime {onnxruntime.__version__}, voice activity model ({inputs} inputs)"


def _voice() -> str:
    from app.models.defaults import default_voice
    from app.tts.piper_tts import PiperTTS

    model, config = default_voice()
    tts = PiperTTS(model, config)
    samples = sum(len(chunk) for chunk in tts.synthesize("Self test."))
    if not samples:
        raise RuntimeError("the voice made no sound")
    return f"piper voice {model.stem}: {samples / tts.sample_rate:.1f} s of speech"


def _ocr() -> str:
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    engine(np.full((32, 96, 3), 255, dtype=np.uint8))
    return "RapidOCR's detection, classification and recognition models loaded"


def _portaudio() -> str:
    import sounddevice

    devices = sounddevice.query_devices()
    inputs = sum(1 for d in devices if d["max_input_channels"] > 0)
    outputs = sum(1 for d in devices if d["max_output_channels"] > 0)
    return f"{sounddevice.get_portaudio_version()[1]}; {inputs} input and {outputs} output devices"


def _qt() -> str:
    started = subprocess.run(
        [*child_command("app.cli.self_test"), QT_FLAG], capture_output=True, text=True, timeout=60
    )
    if started.returncode != 0:
        # Qt's own reasons ("qt.qpa.xcb: could not connect to display", "... libxcb-cursor0
        # is needed ..."), not its closing list of plugins.
        said = [ln.split(": ", 1)[-1].strip() for ln in started.stderr.splitlines()]
        reasons = [r for ln, r in zip(started.stderr.splitlines(), said, strict=True)
                   if ln.startswith("qt.") and r]  # fmt: skip
        raise RuntimeError("; ".join(reasons[:2]) or f"exit status {started.returncode}")
    return started.stdout.strip()


def qt_child() -> int:
    """In the child: a window on the platform plugin, shown and drawn once."""
    from PySide6 import __version__ as pyside
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([])
    label = QLabel("Parley self-test")
    label.show()
    app.processEvents()
    label.grab()
    print(f"PySide6 {pyside}, platform plugin '{app.platformName()}'")
    return 0


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("llama.cpp", _llama),
    ("CTranslate2", _ctranslate2),
    ("voice activity", _vad),
    ("piper voice", _voice),
    ("OCR", _ocr),
    ("PortAudio", _portaudio),
    ("Qt", _qt),
]


def run_checks() -> list[Check]:
    results = []
    for name, check in CHECKS:
        started = time.monotonic()
        try:
            detail, ok = check(), True
        except Exception as exc:  # what failed is the answer, whatever it was
            detail, ok = f"{type(exc).__name__}: {exc}".strip().splitlines()[0], False
        results.append(Check(name, ok, detail, time.monotonic() - started))
    return results


def self_test() -> int:
    """Print a line per check; exit status 1 names at least one failure."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a server, a CI machine
    results = run_checks()
    for r in results:
        mark = "ok  " if r.ok else "FAIL"
        print(f"{mark} {r.name:<15} {r.detail} ({r.seconds:.1f} s)", flush=True)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"parley: the self-test failed: {', '.join(failed)}.", file=sys.stderr)
        return 1
    print("All of Parley's libraries and models work.")
    return 0


if __name__ == "__main__" and sys.argv[1:] == [QT_FLAG]:
    sys.exit(qt_child())
