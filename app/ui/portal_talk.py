"""Hold to talk from any application on Wayland: the xdg-desktop-portal GlobalShortcuts portal.

Wayland lets no client grab keys; instead the portal binds a shortcut for the app (the desktop
asks the user to confirm or change the keys) and sends `Activated` when it goes down and
`Deactivated` when it comes up, which is exactly a hold. The D-Bus conversation runs on a
thread of its own with jeepney (pure Python, blocking I/O); what it hears reaches the Qt thread
as queued signals. Supported by GNOME 48+, KDE Plasma 5.27+ and Hyprland's portal.

Protocol (https://flatpak.github.io/xdg-desktop-portal/docs/doc-org.freedesktop.portal.
GlobalShortcuts.html): CreateSession and BindShortcuts each answer with a Request object
whose `Response` signal carries the result; its path is predictable from our unique bus name
and the `handle_token` we pass, so the match rule is set before the call (no race).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
IFACE = "org.freedesktop.portal.GlobalShortcuts"
SHORTCUT_ID = "hold-to-talk"
TIMEOUT_S = 120.0  # BindShortcuts may wait for the user to confirm the keys in a dialog


def portal_trigger(shortcut: str) -> str:
    """ "Ctrl+Alt+Space" in the XDG shortcuts notation the portal prefers: "CTRL+ALT+space"."""
    *mods, key = [p.strip() for p in shortcut.split("+") if p.strip()]
    names = {"ctrl": "CTRL", "control": "CTRL", "alt": "ALT", "shift": "SHIFT",
             "super": "LOGO", "meta": "LOGO", "win": "LOGO"}  # fmt: skip
    return "+".join([names.get(m.lower(), m.upper()) for m in mods] + [key.lower()])


class PortalTalkKey(QObject):
    """Binds `shortcut` through the portal; `pressed` / `released` once per hold, on the Qt
    thread. `failed(reason)` when there is no portal, it refuses, or the user cancels."""

    pressed = Signal()
    released = Signal()
    bound = Signal(str)  # the trigger the desktop chose (it may differ from the one asked)
    failed = Signal(str)

    def __init__(self, shortcut: str, bus_address: str = "SESSION") -> None:
        super().__init__()
        self.shortcut = shortcut
        self.bus_address = bus_address
        self.trigger = ""
        self.down = False
        self._conn: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="portal-talk", daemon=True)

    @property
    def active(self) -> bool:
        return bool(self.trigger)

    def start(self) -> None:
        self._thread.start()

    def release_grab(self) -> None:
        """Stop listening (the session closes with the connection)."""
        self._stop.set()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    # --- the D-Bus thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            from jeepney import DBusAddress, MatchRule, new_method_call
            from jeepney.io.blocking import open_dbus_connection
        except ImportError:
            self.failed.emit("jeepney is not installed")
            return
        try:
            conn = open_dbus_connection(self.bus_address)
        except (OSError, KeyError, ValueError) as exc:
            self.failed.emit(f"no D-Bus session bus ({exc})")
            return
        self._conn = conn
        portal = DBusAddress(PATH, bus_name=PORTAL, interface=IFACE)
        sender = conn.unique_name.lstrip(":").replace(".", "_")

        def request(method: str, signature: str, *args: Any) -> dict[str, Any] | None:
            token = "parley_" + secrets.token_hex(6)
            path = f"{PATH}/request/{sender}/{token}"
            rule = MatchRule(type="signal", interface="org.freedesktop.portal.Request",
                             member="Response", path=path)  # fmt: skip
            with conn.filter(rule) as queue:
                conn.send_and_get_reply(_add_match(rule), timeout=10)
                options = dict(args[-1], handle_token=("s", token))
                reply = conn.send_and_get_reply(
                    new_method_call(portal, method, signature, (*args[:-1], options)), timeout=10
                )
                if reply.header.message_type.name == "error":
                    raise _Refused(f"{method}: {reply.body[0] if reply.body else 'refused'}")
                response = conn.recv_until_filtered(queue, timeout=TIMEOUT_S)
            code, results = response.body
            if code != 0:
                return None  # 1: the user cancelled, 2: refused
            return results

        try:
            created = request("CreateSession", "a{sv}", {"session_handle_token": ("s", "parley")})
            if created is None:
                raise _Refused("the desktop did not open a shortcut session")
            session = created["session_handle"][1]
            info = {"description": ("s", "Hold to talk to Parley"),
                    "preferred_trigger": ("s", portal_trigger(self.shortcut))}  # fmt: skip
            bound = request("BindShortcuts", "oa(sa{sv})sa{sv}", session,
                            [(SHORTCUT_ID, info)], "", {})  # fmt: skip
            if bound is None:
                raise _Refused("the shortcut was not confirmed")
            trigger = self.shortcut
            for shortcut_id, details in bound.get("shortcuts", ("", []))[1]:
                if shortcut_id == SHORTCUT_ID and "trigger_description" in details:
                    trigger = details["trigger_description"][1] or trigger
            self.trigger = trigger
            self.bound.emit(trigger)
            self._listen(conn, session)
        except _Refused as exc:
            self.failed.emit(str(exc))
        except (OSError, TimeoutError, KeyError, ValueError, IndexError) as exc:
            if not self._stop.is_set():
                self.failed.emit(f"the shortcuts portal stopped answering ({exc})")

    def _listen(self, conn: Any, session: str) -> None:
        from jeepney import MatchRule
        from jeepney.low_level import HeaderFields

        rule = MatchRule(type="signal", interface=IFACE, path=PATH)
        with conn.filter(rule, bufsize=64) as queue:
            conn.send_and_get_reply(_add_match(rule), timeout=10)
            while not self._stop.is_set():
                try:
                    signal = conn.recv_until_filtered(queue, timeout=1.0)
                except TimeoutError:
                    continue
                member = signal.header.fields.get(HeaderFields.member)
                if not signal.body or signal.body[0] != session or signal.body[1] != SHORTCUT_ID:
                    continue
                if member == "Activated" and not self.down:
                    self.down = True
                    self.pressed.emit()
                elif member == "Deactivated" and self.down:
                    self.down = False
                    self.released.emit()


class _Refused(Exception):
    pass


def _add_match(rule: Any) -> Any:
    from jeepney.bus_messages import message_bus

    return message_bus.AddMatch(rule)
