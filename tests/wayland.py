"""A real Wayland compositor without a screen or a GPU: sway on wlroots' headless backend with
the pixman (CPU) renderer. Keys come from `wtype` through the virtual-keyboard protocol, as
from a keyboard: the compositor sends them to the focused window, and the window's own Qt
makes the key repeats from the compositor's repeat rate, as on any Wayland desktop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.x11 import XServer

CONFIG = """\
output HEADLESS-1 resolution 1024x900
input * {{
    repeat_delay {delay}
    repeat_rate {rate}
}}
default_border none
focus_follows_mouse no
"""


NOBODY = 65534  # the unprivileged user sway runs as when the tests run as root
X11_SOCKETS = Path("/tmp/.X11-unix")


class WaylandServer:
    """sway on a private XDG_RUNTIME_DIR; `env` makes a Qt program a client of it (and of
    nothing else: DISPLAY is removed)."""

    platform = "wayland"  # QT_QPA_PLATFORM for a window on it

    def __init__(self, repeat_delay_ms: int = 250, repeat_rate_hz: int = 30) -> None:
        for tool in ("sway", "wtype"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is needed: run scripts/setup.sh --test")
        self.repeat = (repeat_delay_ms, repeat_rate_hz)
        self._held: dict[str, subprocess.Popen[bytes]] = {}
        x_sockets = set(X11_SOCKETS.glob("X*"))
        self.runtime = Path(tempfile.mkdtemp(prefix="parley-wayland-"))
        self.runtime.chmod(0o700)
        command = ["sway"]
        if os.geteuid() == 0:
            # sway refuses to run as root; a desktop's compositor runs as its user anyway.
            # Clients running as root can still connect to its socket.
            os.chown(self.runtime, NOBODY, NOBODY)
            command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                       "sway"]  # fmt: skip
        config = self.runtime / "sway.conf"
        config.write_text(CONFIG.format(delay=repeat_delay_ms, rate=repeat_rate_hz))
        config.chmod(0o644)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env.update(
            XDG_RUNTIME_DIR=str(self.runtime),
            WLR_BACKENDS="headless",
            WLR_RENDERER="pixman",
            WLR_LIBINPUT_NO_DEVICES="1",
        )
        self.log_path = self.runtime / "sway.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*command, "-c", str(config)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        sockets: list[Path] = []
        while time.monotonic() < deadline and not sockets:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sway exited: {self.log()}")
            sockets = [p for p in self.runtime.glob("wayland-*") if not p.name.endswith(".lock")]
            time.sleep(0.05)
        if not sockets:
            self.close()
            raise RuntimeError(f"sway did not start: {self.log()}")
        self.display = sockets[0].name
        self.env = {**env, "WAYLAND_DISPLAY": self.display}
        # Its Xwayland's socket (started at the first X client), where Xwayland is installed.
        self.x_display = ""
        while shutil.which("Xwayland") and time.monotonic() < deadline and not self.x_display:
            new = sorted(set(X11_SOCKETS.glob("X*")) - x_sockets)
            self.x_display = f":{new[0].name[1:]}" if new else ""
            time.sleep(0.05)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def key(self, action: str, key: str = "space") -> float:
        """ "keydown": a wtype process presses `key` and keeps it down; "keyup": that process
        ends, and the compositor releases what its virtual keyboard held (a real release,
        delivered within milliseconds). Returns the CLOCK_MONOTONIC time it was done, as
        XServer.key. A tap of Shift comes first: the compositor switches the seat to a
        keyboard at its first key and re-enters the window with the keys already down, which
        Qt (rightly) does not take for a press."""
        if action == "keydown":
            if key in self._held:
                raise RuntimeError(f"{key} is already down")
            self._held[key] = subprocess.Popen(
                ["wtype", "-M", "shift", "-m", "shift", "-s", "50", "-P", key, "-s", "3600000"],
                env=self.env,
            )
            time.sleep(0.08)  # the Shift tap and the pause before the press
        elif action == "keyup":
            proc = self._held.pop(key)
            proc.terminate()
            proc.wait(timeout=10)
        else:
            raise ValueError(action)
        return time.monotonic()

    def autorepeat(self, delay_ms: int = 250, rate_hz: int = 30) -> None:
        """The repeat rate is the compositor's, set when it started (see __init__)."""
        if (delay_ms, rate_hz) != self.repeat:
            raise RuntimeError(f"this compositor repeats at {self.repeat}")

    def focus(self, window: int) -> None:
        """sway focuses a new window itself (nothing to do: `window` is X11's notion)."""

    def close(self) -> None:
        for held in self._held.values():
            held.kill()
            held.wait()
        self._held.clear()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.runtime, ignore_errors=True)

    def __enter__(self) -> WaylandServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class XWayland:
    """The compositor's Xwayland: an X11 program on a Wayland desktop (many still are), with
    keys from the compositor (wtype) and X11's own autorepeat, which Xwayland makes itself
    at the compositor's rate. Stands in for an XServer (`env`, `platform`, `key`, ...)."""

    platform = "xcb"

    def __init__(self, compositor: WaylandServer) -> None:
        if not compositor.x_display:
            raise RuntimeError("Xwayland is needed: run scripts/setup.sh --test")
        self.compositor = compositor
        self.display = compositor.x_display
        self.env = {**compositor.env, "DISPLAY": self.display}
        if os.geteuid() == 0:
            # Xwayland runs as the compositor's user and admits only that user's programs.
            self.run("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                     "xhost", "+si:localuser:root")  # fmt: skip

    run = XServer.run  # a program on this display (`env`), as on Xvfb

    def key(self, action: str, key: str = "space") -> float:
        return self.compositor.key(action, key)

    def autorepeat(self, delay_ms: int = 250, rate_hz: int = 30) -> None:
        self.compositor.autorepeat(delay_ms, rate_hz)
        if "auto repeat:  on" not in self.run("xset", "q"):
            raise RuntimeError("Xwayland has autorepeat off")

    def focus(self, window: int) -> None:
        """sway focuses a new X window itself."""
