"""Whether the window can reach a display, asked before Qt is: Qt aborts the process (SIGABRT,
rc 134, "Reinstalling the application may fix this problem") when DISPLAY names an X server
that is not there, e.g. an SSH session whose X forwarding is gone."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping

_TIMEOUT_S = 1.0  # a local X server answers at once; a forwarded one within a round trip


def display_problem(env: Mapping[str, str] = os.environ) -> str:
    """Why the window can't open (a sentence), or '' when a display is there to try."""
    platform = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return ""  # offscreen, wayland, or another system: Qt's own business
    x11, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not (x11 or wayland):
        return (
            "no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot "
            "open. Run it from your desktop session, or use `parley ask` headless."
        )
    if not x11 or (not platform and _wayland_there(wayland, env)):
        return ""
    if _x_there(x11):
        return ""
    return (
        f"cannot reach display {x11} (no X server answers there; an SSH session's X "
        "forwarding may have ended), so the window cannot open. Run it from your desktop "
        "session, fix DISPLAY, or use `parley ask` headless."
    )


def _wayland_there(name: str, env: Mapping[str, str]) -> bool:
    if not name:
        return False
    path = name if name.startswith("/") else os.path.join(env.get("XDG_RUNTIME_DIR", ""), name)
    return _connects(socket.AF_UNIX, path)


def _x_there(display: str) -> bool:
    """DISPLAY is [host]:number[.screen]; a local one is a Unix socket (on Linux also in the
    abstract namespace), a remote one TCP port 6000 + number."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False  # Qt could not parse it either
    if host in ("", "unix") or host.startswith("/"):
        path = f"/tmp/.X11-unix/X{number}"
        return _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, "\0" + path)
    return _connects(
        socket.AF_INET6 if ":" in host else socket.AF_INET, (host.strip("[]"), 6000 + int(number))
    )


def _connects(family: int, address: object) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(_TIMEOUT_S)
            sock.connect(address)  # type: ignore[arg-type]
            return True
    except (OSError, ValueError):
        return False
