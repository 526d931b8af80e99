"""A PulseAudio server of a test's own, with the same virtual microphone and speaker as
../shared/virtual-audio, on its own socket: a test can kill it, freeze it and start it again
without breaking the shared server that other tests (and other people's runs) are using."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

# The module lines of virtual-audio's `start`, with this server's own socket.
DEFAULT_PA = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={sock}
load-module module-null-sink sink_name=speaker sink_properties=device.description=VirtualSpeaker
load-module module-null-sink sink_name=micfeed sink_properties=device.description=VirtualMicFeed
load-module module-remap-source source_name=mic master=micfeed.monitor \
source_properties=device.description=VirtualMic
set-default-sink speaker
set-default-source mic
"""


class PrivatePulse:
    def __init__(self) -> None:
        # Under /tmp, short: a unix socket's path must fit in 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="parley-pa-", dir="/tmp"))
        self.sock = self.dir / "sock"
        self.server = f"unix:{self.sock}"
        (self.dir / "default.pa").write_text(DEFAULT_PA.format(sock=self.sock))
        self.env = {
            **os.environ,
            "PULSE_SERVER": self.server,
            # Its own runtime and state folders: two servers of one user must not share them.
            "PULSE_RUNTIME_PATH": str(self.dir / "run"),
            "PULSE_STATE_PATH": str(self.dir / "state"),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        run = subprocess.run(["pactl", "info"], env=self.env, capture_output=True, timeout=10)
        return run.returncode == 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "pulseaudio",
                "-n",
                "-F",
                str(self.dir / "default.pa"),
                "--exit-idle-time=-1",
                "--daemonize=no",
                "--use-pid-file=no",
                f"--log-target=file:{self.dir / 'log'}",
            ],  # fmt: skip
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the private PulseAudio did not start: {log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """The server dies at once, as when it crashes or is restarted by the desktop."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
        self.sock.unlink(missing_ok=True)

    def room(self, gain_db: float, delay_ms: int) -> None:
        """The speaker leaks into the microphone `gain_db` louder after `delay_ms`, as
        virtual-audio's `room on` does on the shared server."""
        load = subprocess.run(
            ["pactl", "load-module", "module-loopback", "source=speaker.monitor", "sink=micfeed",
             f"latency_msec={delay_ms}", "source_dont_move=true", "sink_dont_move=true"],
            env=self.env, capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
        module = load.stdout.strip()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            listing = subprocess.run(
                ["pactl", "list", "sink-inputs"], env=self.env, capture_output=True, text=True
            ).stdout
            for block in listing.split("Sink Input #")[1:]:
                if f"Owner Module: {module}" in block:
                    number = block.split(maxsplit=1)[0]
                    subprocess.run(
                        ["pactl", "set-sink-input-volume", number, f"{gain_db}dB"],
                        env=self.env, check=True, timeout=10,
                    )  # fmt: skip
                    return
            time.sleep(0.1)
        raise RuntimeError("the room loopback did not start")

    def say(self, wav: Path) -> subprocess.Popen[bytes]:
        """Start playing `wav` into the microphone (as virtual-audio's `say`), in real time."""
        return subprocess.Popen(["paplay", "-d", "micfeed", str(wav)], env=self.env)

    def freeze(self, frozen: bool = True) -> None:
        """The server stops answering without closing anything (SIGSTOP), or goes on."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
