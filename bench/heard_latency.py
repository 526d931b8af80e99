"""Latency as a person hears it: key release to the first reply sample at the output device,
through the real window and the real sound stack, against the in-process figure and the
sequential pipeline, in one run.

The window (tests/window_app.py: the app as `parley` builds it, real sounddevice audio, the
default models) runs on Xvfb with key autorepeat on (or, with --wayland, on sway's headless
backend, the key held by wtype; see tests/wayland.py). For each question:
  (w) window: `xdotool keydown space`, the question spoken into the virtual microphone in real
      time (`virtual-audio say`, espeak-ng plus 0.3 s of quiet, as bench/latency.py), `xdotool
      keyup space`; the virtual speaker's monitor is read continuously (parec, 5 ms
      fragments) and the first loud sample after the release is the answer heard;
  (p) in-process: the same audio through the capture path at real-time pace with the key held
      in this process (what `parley ask --realtime` reports: release to the first sample
      handed to the output);
  (s) sequential: transcribe all, generate all, synthesise all;
  with --headless also (h) the session with the real microphone and speaker and no window,
  and (o) the real speaker only (the question fed as in (p)), which split the window's extra
  time into what Qt and the display add and what the sound stack adds;
interleaved (w, p, s, w, p, s, ...) so all see the same machine. For (w) the time is split
where it goes: the X server and Qt delivering the release, stopping the microphone, the
pipeline (the app's own first_audio), and the output device (buffers, the sound server).

With --tools K, K questions that get a tool call (spoken sums, a time zone) are mixed in,
every other question, and their heard latency is set against the others' (a turn with a tool
call should start speaking within 1.5 times an ordinary one).

    .venv/bin/python bench/heard_latency.py [--n 10] [--tools 5] [--headless] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.audio.capture import STT_RATE  # noqa: E402
from app.audio.resample import resample  # noqa: E402
from app.audio.sounddevice_backend import SoundDeviceBackend  # noqa: E402
from app.audio.wavfile import write_wav  # noqa: E402
from app.bus.events import TurnFinished  # noqa: E402
from app.cli.ask import _speak_in_real_time  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline.engines import Engines  # noqa: E402
from app.session import Session  # noqa: E402
from bench.latency import (  # noqa: E402
    QUESTIONS,
    fresh_cache,
    load_engines,
    sequential,
    speak,
    streaming,
    summary,
)
from tests.wayland import WaylandServer  # noqa: E402
from tests.x11 import Window, XServer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VIRTUAL_AUDIO = REPO.parent / "shared" / "virtual-audio"
MONITOR_RATE = 48000
SERVER_RATE = 44100  # virtual-audio's sinks and sources
LOUD = 0.01  # the reply's first sample above this (piper's onsets are steep)


class SpeakerMonitor:
    """Reads the virtual speaker's monitor as it plays; `first_loud_after(t)` is the
    CLOCK_MONOTONIC time of the first loud sample after `t`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["parec", "-d", "speaker.monitor", "--format=s16le", f"--rate={MONITOR_RATE}",
             "--channels=1", "--latency-msec=5", "--raw"],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        self._lock = threading.Lock()
        self._blocks: list[tuple[float, np.ndarray]] = []  # (time of the block's last sample, x)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(4096)  # type: ignore[attr-defined]
            if not data:
                return
            now = time.monotonic()
            samples = np.frombuffer(data[: len(data) // 2 * 2], np.int16) / 32768.0
            with self._lock:
                self._blocks.append((now, samples))
                if len(self._blocks) > 20000:
                    del self._blocks[:10000]

    def first_loud_after(self, t: float) -> float | None:
        with self._lock:
            blocks = list(self._blocks)
        for end, samples in blocks:
            start = end - samples.size / MONITOR_RATE
            if end < t:
                continue
            loud = np.flatnonzero(np.abs(samples) > LOUD)
            for i in loud:
                at = start + i / MONITOR_RATE
                if at > t:
                    return at
        return None

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stat: Path) -> float:
    """utime + stime of one process or thread, in seconds (0 once it is gone)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuClock:
    """Samples, every 10 ms, the CPU time of the display server (its whole process group:
    sway and its Xwayland, or Xvfb) and of the window's GUI thread, so that the time from the
    release to the first sound can be split by who computed meanwhile. On two cores every
    other busy thread takes a core from one of the LLM's two threads."""

    def __init__(self, server_pid: int, window_pid: int) -> None:
        group = os.getpgid(server_pid)
        self._server = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(d.name)) == group:
                        self._server.append(d / "stat")
        self._gui = Path(f"/proc/{window_pid}/task/{window_pid}/stat")
        self._samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            server = sum(_cpu_seconds(s) for s in self._server)
            self._samples.append((time.monotonic(), server, _cpu_seconds(self._gui)))

    def between(self, start: float, end: float) -> dict[str, float]:
        inside = [s for s in self._samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        return {"display_server_cpu": round(last[1] - first[1], 3),
                "gui_thread_cpu": round(last[2] - first[2], 3)}  # fmt: skip

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class PipelineLog(logging.Handler):
    """The in-process turns' pipeline log, as the window's (tests/window_app.py) is kept."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[float, str]] = []
        logger = logging.getLogger("app.pipeline")
        logger.addHandler(self)
        logger.setLevel(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((time.monotonic(), record.getMessage()))

    def turn(self) -> list[tuple[float, str]]:
        """This turn's lines, in seconds from its release (the "released after" line)."""
        lines, self.records = self.records, []
        released = next((t for t, m in lines if "released after" in m), None)
        if released is None:
            return []
        return [(round(t - released, 3), m[:100]) for t, m in lines]


def breakdown(turns: list[dict], parts: tuple[str, ...]) -> dict[str, float | None]:
    """Each part's median over the turns that measured it."""
    medians: dict[str, float | None] = {}
    for part in parts:
        values = [t[part] for t in turns if t.get(part) is not None]
        medians[part] = summary(values)["median"] if values else None
    return medians


def window_turn(
    x: XServer | WaylandServer, window: Window, monitor: SpeakerMonitor, wav: Path, i: int
) -> dict:
    clock = CpuClock(x.proc.pid, window.proc.pid)
    pressed = time.monotonic()
    x.key("keydown")
    window.wait_for("listening", i + 1, timeout=10)
    subprocess.run([str(VIRTUAL_AUDIO), "say", str(wav)], check=True, timeout=60)
    # From just before xdotool starts: the finger lifts somewhere in the few milliseconds
    # xdotool takes, so this errs against Parley.
    released = time.monotonic()
    sent = x.key("keyup")
    finished = window.wait_for("turn_finished", i + 1, timeout=120)[i]
    deadline = time.monotonic() + 5
    heard = None
    while heard is None and time.monotonic() < deadline:
        heard = monitor.first_loud_after(released)
        time.sleep(0.05)
    time.sleep(0.3)
    clock.close()
    cpu = clock.between(released, heard) if heard is not None else {}
    keys = [
        e
        for e in window.events("key")
        if e["action"] == "release" and not e["autorepeat"] and e["t"] >= released - 1
    ]  # (Wayland's repeats are flagged releases and presses, 30 a second)
    ended = window.events("speech_ended")[i]["t"]
    inside = finished["timings"]["first_audio"]
    key_seen = keys[0]["t"] if keys else None
    return {
        "heard": None if heard is None else round(heard - released, 4),
        "xdotool": round(sent - released, 4),
        "release_delivered": None if key_seen is None else round(key_seen - sent, 4),
        "microphone_stopped": None if key_seen is None else round(ended - key_seen, 4),
        "pipeline": inside,
        "output_device": None if heard is None or inside is None else round(
            heard - (ended + inside), 4),
        **cpu,
        # The pipeline's own log of the turn (live transcripts, the speculation), in seconds
        # from the release: what happened before the key went up decides what is left after.
        "log": [(round(e["t"] - released, 3), e["message"][:100]) for e in window.events("log")
                if pressed <= e["t"] <= finished["t"]],
        "transcript": finished["transcript"],
        "reply": finished["reply"],
        "waterfall": {k: v for k, v in finished["timings"].items() if k.startswith("t_")},
    }  # fmt: skip


def quiet_tail(audio: np.ndarray) -> float:
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return round((audio.size - 1 - int(loud[-1])) / STT_RATE, 3) if loud.size else 0.0


async def headless_turn(
    settings: Settings,
    engines: Engines,
    monitor: SpeakerMonitor,
    wav: Path,
    audio: np.ndarray | None = None,
) -> dict:
    """(h) The app's session with the real microphone and speaker (PulseAudio), no window:
    the same hold, speech and release as (w), timed at the speaker, so that what the window
    adds (Qt, the display) is told apart from what the real sound stack adds. With `audio`,
    (o): the real speaker only, the question fed to the capture path as in (p)."""
    loop = asyncio.get_running_loop()
    session = Session(settings, engines.bus, engines=engines, backend=SoundDeviceBackend())
    assert session.recorder is not None and session.player is not None, session.audio_error
    done: asyncio.Future[TurnFinished] = loop.create_future()
    unsubscribe = engines.bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))
    try:
        if audio is not None:  # the speaker only: the question fed as in (p)
            await _speak_in_real_time(session, audio)
            released = time.monotonic()
            captured = audio
        else:
            turn_id = session.turns.begin_listening(session.recorder)
            session.recorder.start()
            await asyncio.to_thread(
                subprocess.run, [str(VIRTUAL_AUDIO), "say", str(wav)], check=True, timeout=60
            )
            released = time.monotonic()
            captured = session.recorder.stop()
            session.turns.submit_audio(turn_id, captured)
        result = await asyncio.wait_for(done, 120)
        heard = None
        deadline = time.monotonic() + 5
        while heard is None and time.monotonic() < deadline:
            heard = monitor.first_loud_after(released)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        unsubscribe()
        session.close(keep_engines=True)
    return {
        "heard": None if heard is None else round(heard - released, 4),
        "pipeline": result.timings["first_audio"],
        # The quiet after the last word that reached the app before the release, against
        # (o)'s: less would mean the microphone's latency cut the end of the question off.
        "quiet_tail": quiet_tail(captured),
        "reply": result.reply,
        "transcript": result.transcript,
        "waterfall": {k: v for k, v in result.timings.items() if k.startswith("t_")},
    }


# Spoken questions that get a tool call (as a person says them: numbers in words): bare sums,
# which the user's words spell out (the calculator runs before the one model round), and
# questions whose call the model writes (word problems, clock times, a time zone).
DIRECT_TOOL_QUESTIONS = [
    "What is twelve times twelve?",
    "What's fifteen percent of two hundred?",
    "What is nineteen plus twenty-three?",
]
MODEL_CALL_QUESTIONS = [
    "A ticket costs twelve dollars. How much do five tickets cost?",
    "What time is it in Tokyo?",
    "The meeting starts at ten fifty and lasts an hour and forty-five minutes. When does it end?",
]
TOOL_QUESTIONS = [
    q for pair in zip(DIRECT_TOOL_QUESTIONS, MODEL_CALL_QUESTIONS, strict=True) for q in pair
]


def with_tool_questions(n: int, tools: int) -> list[str]:
    """`n` ordinary questions with `tools` tool questions put between them, every other."""
    plain = (QUESTIONS * 3)[:n]
    mixed: list[str] = []
    for i, question in enumerate(plain):
        mixed.append(question)
        if i < tools:
            mixed.append(TOOL_QUESTIONS[i % len(TOOL_QUESTIONS)])
    return mixed


async def main_async(
    questions: list[str],
    tmp: Path,
    autorepeat: bool,
    extra: dict | None = None,
    wayland: bool = False,
    and_x11: bool = False,
    headless: bool = False,
) -> dict:
    settings, engines = await load_engines()
    subprocess.run([str(VIRTUAL_AUDIO), "start"], check=True)
    os.environ["PULSE_SERVER"] = "unix:/tmp/parley-pulse/sock"
    runs = []
    # A new chat before every question, as each in-process turn starts a fresh conversation:
    # the same question then gets the same context and (mostly) the same reply both ways.
    window_settings = {"sound_cues": False, "llm_temperature": 0.0, **(extra or {})}
    if wayland:
        window_settings["global_talk_key"] = ""  # no portal on a bare compositor
        if not autorepeat:
            raise SystemExit("--no-autorepeat is for X11 (the compositor's rate is fixed here)")
    display = WaylandServer(250, 30) if wayland else XServer()
    with contextlib.ExitStack() as stack:
        x = stack.enter_context(display)
        window = stack.enter_context(
            Window(x, tmp, settings=window_settings, new_chat_each_turn=True)
        )
        # --and-x11: the same window on Xvfb as well, its turns interleaved with the Wayland
        # window's, so the two displays are compared side by side on the same machine.
        other: tuple[XServer, Window] | None = None
        if and_x11:
            xs = stack.enter_context(XServer())
            (tmp / "x11").mkdir(exist_ok=True)
            xw = stack.enter_context(
                Window(xs, tmp / "x11", settings=window_settings, new_chat_each_turn=True)
            )
            xw.wait_ready()
            xs.autorepeat(250, 30)
            other = (xs, xw)
        window.wait_ready()
        if autorepeat:
            x.autorepeat(250, 30)
        else:  # code from before the autorepeat fix would make several turns of one hold
            x.run("xset", "r", "off")
        monitor = SpeakerMonitor()
        pipeline_log = PipelineLog()
        try:
            for i, question in enumerate(questions):
                audio = speak(question, tmp / f"q{i}.wav")
                # At the sound server's own rate, so that PulseAudio does not resample it
                # (its resampler made whisper mishear: "Why is this Kai Blue?"), and the
                # window hears what the in-process run is given.
                wav = tmp / f"q{i}-44k.wav"
                write_wav(wav, resample(audio, STT_RATE, SERVER_RATE), SERVER_RATE)
                wx = None
                if other is not None and i % 2:  # which display goes first alternates
                    wx = await asyncio.to_thread(window_turn, *other, monitor, wav, i)
                w = await asyncio.to_thread(window_turn, x, window, monitor, wav, i)
                if other is not None and not i % 2:
                    wx = await asyncio.to_thread(window_turn, *other, monitor, wav, i)
                h = None
                if headless:
                    await fresh_cache(settings, engines)
                    pipeline_log.turn()
                    h = await headless_turn(settings, engines, monitor, wav)
                    h["log"] = pipeline_log.turn()
                    await fresh_cache(settings, engines)
                    h["speaker_only"] = await headless_turn(settings, engines, monitor, wav, audio)
                    h["speaker_only"]["log"] = pipeline_log.turn()
                await fresh_cache(settings, engines)
                pipeline_log.turn()  # not the fresh cache's
                p = await streaming(settings, engines, audio, tmp)
                p["log"] = pipeline_log.turn()
                await fresh_cache(settings, engines)
                s = await sequential(settings, engines, audio)
                runs.append({"question": question, "window": w, "in_process": p,
                             "sequential": s, "window_x11": wx, "headless": h})  # fmt: skip
                also = f", on X11 {wx['heard']} s" if wx else ""
                also += f", headless {h['heard']} s" if h else ""
                print(f"{question!r}: window heard {w['heard']} s "
                      f"(pipeline {w['pipeline']}){also}, in-process "
                      f"{p['first_audio']:.3f} s, sequential {s['first_audio']:.3f} s",
                      file=sys.stderr)  # fmt: skip
        finally:
            monitor.close()
    engines.shutdown()
    heard = [r["window"]["heard"] for r in runs if r["window"]["heard"] is not None]
    parts = ("xdotool", "release_delivered", "microphone_stopped", "pipeline", "output_device",
             "display_server_cpu", "gui_thread_cpu")  # fmt: skip
    result = {
        "n": len(runs),
        "heard_from_outside": summary(heard),
        "in_process": summary([r["in_process"]["first_audio"] for r in runs]),
        "sequential": summary([r["sequential"]["first_audio"] for r in runs]),
        "window_breakdown_median": breakdown([r["window"] for r in runs], parts),
        "missed": len(runs) - len(heard),
        "runs": runs,
    }
    result["ratio_heard_to_sequential"] = round(
        result["heard_from_outside"]["median"] / result["sequential"]["median"], 3
    )
    result["gap_heard_minus_in_process"] = round(
        result["heard_from_outside"]["median"] - result["in_process"]["median"], 3
    )
    # The same question both ways: the median of the paired differences, and of those turns
    # whose replies came out the same (the pipeline's time depends on the reply).
    pairs = [r for r in runs if r["window"]["heard"] is not None]
    same = [r for r in pairs if r["window"]["reply"].strip() == r["in_process"]["reply"].strip()]
    for key, group in (("gap_paired_median", pairs), ("gap_same_reply_median", same)):
        gaps = [r["window"]["heard"] - r["in_process"]["first_audio"] for r in group]
        result[key] = summary(gaps)["median"] if gaps else None
    result["same_reply_turns"] = len(same)
    tool_runs = [r for r in pairs if r["question"] in TOOL_QUESTIONS]
    if tool_runs:  # a turn with a tool call against the ordinary turns of the same run
        plain_runs = [r for r in pairs if r["question"] not in TOOL_QUESTIONS]
        result["heard_tools"] = summary([r["window"]["heard"] for r in tool_runs])
        result["heard_plain"] = summary([r["window"]["heard"] for r in plain_runs])
        result["ratio_tools_to_plain"] = round(
            result["heard_tools"]["median"] / result["heard_plain"]["median"], 3
        )
        result["in_process_tools"] = summary([r["in_process"]["first_audio"] for r in tool_runs])
        for kind, group in (
            ("direct", DIRECT_TOOL_QUESTIONS),
            ("model_call", MODEL_CALL_QUESTIONS),
        ):
            runs_of_kind = [r["window"]["heard"] for r in tool_runs if r["question"] in group]
            if runs_of_kind:
                result[f"heard_tools_{kind}"] = summary(runs_of_kind)
        result["in_process_plain"] = summary([r["in_process"]["first_audio"] for r in plain_runs])
    alone = [r for r in pairs if r["headless"] and r["headless"]["heard"] is not None]
    if alone:
        result["heard_headless"] = summary([r["headless"]["heard"] for r in alone])
        result["window_minus_headless_paired_median"] = summary(
            [r["window"]["heard"] - r["headless"]["heard"] for r in alone]
        )["median"]
        result["heard_speaker_only"] = summary(
            [r["headless"]["speaker_only"]["heard"] for r in alone]
        )
        result["speaker_only_minus_in_process_paired_median"] = summary(
            [r["headless"]["speaker_only"]["heard"] - r["in_process"]["first_audio"] for r in alone]
        )["median"]
        result["headless_minus_in_process_paired_median"] = summary(
            [r["headless"]["heard"] - r["in_process"]["first_audio"] for r in alone]
        )["median"]
    both = [r for r in pairs if r["window_x11"] and r["window_x11"]["heard"] is not None]
    if both:
        result["heard_x11"] = summary([r["window_x11"]["heard"] for r in both])
        result["gap_x11_minus_in_process"] = round(
            result["heard_x11"]["median"] - result["in_process"]["median"], 3
        )
        diffs = [r["window"]["heard"] - r["window_x11"]["heard"] for r in both]
        result["wayland_minus_x11_paired_median"] = summary(diffs)["median"]
        result["x11_breakdown_median"] = breakdown([r["window_x11"] for r in both], parts)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--tools", type=int, default=0, help="tool questions mixed in")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-autorepeat", action="store_true", help="xset r off")
    parser.add_argument(
        "--wayland", action="store_true", help="the window on sway (headless), keys from wtype"
    )
    parser.add_argument(
        "--window-setting",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="a setting for the window only, e.g. speculative_audio=false",
    )
    parser.add_argument(
        "--and-x11",
        action="store_true",
        help="with --wayland: also the window on Xvfb, turns "
        "interleaved (the two displays side by side)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="also the session with the real microphone and speaker and no window",
    )
    args = parser.parse_args()
    if args.and_x11 and not args.wayland:
        parser.error("--and-x11 goes with --wayland")
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.window_setting)}
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            main_async(
                with_tool_questions(args.n, args.tools),
                Path(tmp),
                not args.no_autorepeat,
                extra,
                args.wayland,
                args.and_x11,
                args.headless,
            )
        )
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
