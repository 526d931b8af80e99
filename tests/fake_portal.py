"""A stand-in for xdg-desktop-portal's GlobalShortcuts, on a private D-Bus session bus, for the
Wayland hold-to-talk path: the real portal needs a Wayland compositor's backend (GNOME 48+,
KDE), which this machine cannot run. It speaks the documented protocol: CreateSession and
BindShortcuts answer with a Request path and a `Response` signal there; `press` and `release`
on stdin send `Activated` and `Deactivated`, as the desktop does when the keys go down and up.

    python -m tests.fake_portal BUS_ADDRESS [--refuse]

Prints `ready`, then `bound TRIGGER` once a shortcut is bound (the trigger the app asked for).
"""

from __future__ import annotations

import select
import sys
import time

from jeepney import DBusAddress, HeaderFields, MessageType, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

PATH = "/org/freedesktop/portal/desktop"
IFACE = "org.freedesktop.portal.GlobalShortcuts"


def main() -> int:
    address, refuse = sys.argv[1], "--refuse" in sys.argv
    conn = open_dbus_connection(address)
    conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.portal.Desktop"))
    print("ready", flush=True)
    session = ""
    shortcut_id = ""

    def respond(msg, code: int, results: dict) -> None:  # noqa: ANN001
        sender = msg.header.fields[HeaderFields.sender].lstrip(":").replace(".", "_")
        token = msg.body[-1]["handle_token"][1]
        request = f"{PATH}/request/{sender}/{token}"
        conn.send(new_method_return(msg, "o", (request,)))
        where = DBusAddress(request, interface="org.freedesktop.portal.Request")
        conn.send(new_signal(where, "Response", "ua{sv}", (code, results)))

    while True:
        ready, _, _ = select.select([conn.sock, sys.stdin], [], [], 1.0)
        if sys.stdin in ready:
            line = sys.stdin.readline().strip()
            if not line:
                return 0
            member = {"press": "Activated", "release": "Deactivated"}[line]
            stamp = int(time.monotonic() * 1000)
            where = DBusAddress(PATH, interface=IFACE)
            conn.send(new_signal(where, member, "osta{sv}", (session, shortcut_id, stamp, {})))
            print(line, flush=True)
        if conn.sock not in ready:
            continue
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        if member == "CreateSession":
            session = f"{PATH}/session/app/{msg.body[0]['session_handle_token'][1]}"
            respond(msg, 0, {"session_handle": ("s", session)})
        elif member == "BindShortcuts":
            [(shortcut_id, info)] = msg.body[1]
            if refuse:
                respond(msg, 1, {})  # the user pressed Cancel in the desktop's dialog
                continue
            trigger = info["preferred_trigger"][1]
            bound = [(shortcut_id, {"description": info["description"],
                                    "trigger_description": ("s", "Ctrl+Alt+Space")})]  # fmt: skip
            respond(msg, 0, {"shortcuts": ("a(sa{sv})", bound)})
            print("bound", trigger, flush=True)


if __name__ == "__main__":
    sys.exit(main())
