"""Key autorepeat on X11 (and XWayland), where holding a key is not what it seems.

While a key is held, an X server normally sends a *fake KeyRelease + KeyPress pair* for every
repeat (30 a second at a common rate). Qt's xcb plugin flags the pair as autorepeat only when
the next press is already in its queue as it reads the release; when the window is idle it
often is not, and push-to-talk saw a dozen releases per held key (measured: 6 turns for 2
holds). Two remedies, on Qt's own X connection:

- XKB *detectable autorepeat* (a per-client flag): the server then sends only repeated
  presses, never the fake releases, so a release is a real one. Every X server since XKB
  (1996) supports it, XWayland included.
- The server's own key state (QueryKeymap): asked when a release arrives, it tells a real
  release (the key is up) from a repeat the flag did not cover.

Both go through libxcb with ctypes (the library Qt's xcb plugin has loaded already), so Parley
needs nothing extra installed; anywhere else (Wayland, Windows, macOS, offscreen) they report
that they do not apply and the caller relies on Qt's own autorepeat flag, which those
platforms set reliably.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

log = logging.getLogger(__name__)

_XKB_USE_CORE_KBD = 0x100
_DETECTABLE_AUTO_REPEAT = 1


class _Cookie(ctypes.Structure):
    _fields_ = [("sequence", ctypes.c_uint)]


class _KeymapReply(ctypes.Structure):
    _fields_ = [
        ("response_type", ctypes.c_uint8),
        ("pad0", ctypes.c_uint8),
        ("sequence", ctypes.c_uint16),
        ("length", ctypes.c_uint32),
        ("keys", ctypes.c_uint8 * 32),
    ]


class _PerClientFlagsReply(ctypes.Structure):
    _fields_ = [
        ("response_type", ctypes.c_uint8),
        ("device_id", ctypes.c_uint8),
        ("sequence", ctypes.c_uint16),
        ("length", ctypes.c_uint32),
        ("supported", ctypes.c_uint32),
        ("value", ctypes.c_uint32),
        ("auto_ctrls", ctypes.c_uint32),
        ("auto_ctrls_values", ctypes.c_uint32),
        ("pad", ctypes.c_uint8 * 8),
    ]


def _library(name: str, soname: str) -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library(name) or soname)
    except OSError:
        return None


class X11Keyboard:
    """Qt's X connection, for the two requests above; `available` is False off X11."""

    def __init__(self, app: Any) -> None:
        self._conn: int = 0
        self._xcb: Any = None
        self._free: Any = None
        if app is None or app.platformName() != "xcb":
            return
        try:
            native = app.nativeInterface()
            conn = int(native.connection())
        except (AttributeError, TypeError, RuntimeError):
            return
        xcb = _library("xcb", "libxcb.so.1")
        libc = _library("c", "libc.so.6")
        if not conn or xcb is None or libc is None:
            return
        xcb.xcb_query_keymap.restype = _Cookie
        xcb.xcb_query_keymap.argtypes = [ctypes.c_void_p]
        xcb.xcb_query_keymap_reply.restype = ctypes.POINTER(_KeymapReply)
        xcb.xcb_query_keymap_reply.argtypes = [ctypes.c_void_p, _Cookie, ctypes.c_void_p]
        libc.free.argtypes = [ctypes.c_void_p]
        self._conn, self._xcb, self._free = conn, xcb, libc.free

    @property
    def available(self) -> bool:
        return bool(self._conn)

    def detectable_autorepeat(self) -> bool:
        """Ask the server to stop sending fake releases to this app; whether it agreed."""
        if not self._conn:
            return False
        xkb = _library("xcb-xkb", "libxcb-xkb.so.1")
        if xkb is None:
            return False
        xkb.xcb_xkb_per_client_flags.restype = _Cookie
        xkb.xcb_xkb_per_client_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint16] + [
            ctypes.c_uint32
        ] * 5
        xkb.xcb_xkb_per_client_flags_reply.restype = ctypes.POINTER(_PerClientFlagsReply)
        xkb.xcb_xkb_per_client_flags_reply.argtypes = [ctypes.c_void_p, _Cookie, ctypes.c_void_p]
        flag = _DETECTABLE_AUTO_REPEAT
        cookie = xkb.xcb_xkb_per_client_flags(self._conn, _XKB_USE_CORE_KBD, flag, flag, 0, 0, 0)
        reply = xkb.xcb_xkb_per_client_flags_reply(self._conn, cookie, None)
        if not reply:
            return False
        try:
            return bool(reply.contents.supported & flag and reply.contents.value & flag)
        finally:
            self._free(reply)

    def is_down(self, keycode: int) -> bool | None:
        """Whether the X server has `keycode` (QKeyEvent.nativeScanCode()) down now; None
        when it cannot be asked."""
        if not self._conn or not 8 <= keycode <= 255:
            return None
        reply = self._xcb.xcb_query_keymap_reply(
            self._conn, self._xcb.xcb_query_keymap(self._conn), None
        )
        if not reply:
            return None
        try:
            return bool(reply.contents.keys[keycode // 8] & (1 << (keycode % 8)))
        finally:
            self._free(reply)
