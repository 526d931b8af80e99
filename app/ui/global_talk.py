"""Hold to talk from any application: a key combination grabbed on the whole X11 desktop.

X11 (and XWayland apps on X11 desktops) let a client grab a key on the root window: the server
then sends that key's press and release to Parley whichever window has the focus. The grab
goes on Qt's own xcb connection (ctypes, the libxcb Qt has loaded), and the events are picked
out of Qt's event stream with a native event filter, so no second connection or thread is
needed. Detectable autorepeat is already set on that connection (x11_keyboard.py), so a held
key sends no fake releases.

Wayland forbids grabs; there the xdg-desktop-portal GlobalShortcuts interface is the way
(portal_talk.py). Windows and macOS: not yet (the shortcut is then said to be unavailable).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractNativeEventFilter, QByteArray

from app.ui.x11_keyboard import _Cookie, _library

log = logging.getLogger(__name__)

_KEY_PRESS, _KEY_RELEASE = 2, 3
_SHIFT, _LOCK, _CONTROL, _MOD1, _MOD2, _MOD4 = 1, 2, 4, 8, 16, 64
_MODIFIERS = {"ctrl": _CONTROL, "control": _CONTROL, "alt": _MOD1, "shift": _SHIFT,
              "super": _MOD4, "meta": _MOD4, "win": _MOD4}  # fmt: skip
# Caps Lock and Num Lock change the modifier state; grab the key with and without them.
_IGNORED = (0, _LOCK, _MOD2, _LOCK | _MOD2)
_KEYSYMS = {"space": 0x20, "pause": 0xFF13, "scrolllock": 0xFF14, "insert": 0xFF63,
            "menu": 0xFF67, "return": 0xFF0D, "tab": 0xFF09}  # fmt: skip
_GRAB_MODE_ASYNC = 1


class ShortcutError(ValueError):
    """A shortcut that cannot be parsed or grabbed; the message says why, for the user."""


def parse(shortcut: str) -> tuple[int, int]:
    """ "Ctrl+Alt+Space" -> (modifier mask, keysym)."""
    parts = [p.strip().lower() for p in shortcut.split("+") if p.strip()]
    if not parts:
        raise ShortcutError("no key given")
    *mods, key = parts
    mask = 0
    for mod in mods:
        if mod not in _MODIFIERS:
            raise ShortcutError(f"'{mod}' is not a modifier (use Ctrl, Alt, Shift or Super)")
        mask |= _MODIFIERS[mod]
    if key in _KEYSYMS:
        keysym = _KEYSYMS[key]
    elif len(key) == 1 and key.isascii() and key.isalnum():
        keysym = ord(key)
    elif key.startswith("f") and key[1:].isdigit() and 1 <= int(key[1:]) <= 24:
        keysym = 0xFFBE + int(key[1:]) - 1
    else:
        raise ShortcutError(f"'{key}' is not a key Parley can grab")
    if not mask and keysym < 0xFF00:
        raise ShortcutError(f"{shortcut} alone would stop you typing it; add Ctrl, Alt or Super")
    return mask, keysym


class _KeyEvent(ctypes.Structure):
    _fields_ = [
        ("response_type", ctypes.c_uint8),
        ("detail", ctypes.c_uint8),
        ("sequence", ctypes.c_uint16),
        ("time", ctypes.c_uint32),
        ("root", ctypes.c_uint32),
        ("event", ctypes.c_uint32),
        ("child", ctypes.c_uint32),
        ("root_x", ctypes.c_int16),
        ("root_y", ctypes.c_int16),
        ("event_x", ctypes.c_int16),
        ("event_y", ctypes.c_int16),
        ("state", ctypes.c_uint16),
        ("same_screen", ctypes.c_uint8),
    ]


class GlobalTalkKey(QAbstractNativeEventFilter):
    """Grabs `shortcut` on the X11 desktop; `pressed()` and `released()` once per hold."""

    def __init__(
        self, app: Any, shortcut: str, pressed: Callable[[], None], released: Callable[[], None]
    ) -> None:
        super().__init__()
        self.shortcut = shortcut
        self._pressed, self._released = pressed, released
        self._app = app
        self._conn = 0
        self._root = 0
        self._keycode = 0
        self._mask = 0
        self._xcb: Any = None
        self.down = False

    def grab(self) -> None:
        """Raises ShortcutError with the reason when the shortcut cannot be had."""
        mask, keysym = parse(self.shortcut)
        if self._app is None or self._app.platformName() != "xcb":
            raise ShortcutError(
                "a shortcut for the whole desktop needs X11 here (on Wayland, the desktop's "
                "own shortcut settings can run `parley` instead)"
            )
        native = self._app.nativeInterface()
        conn = int(native.connection())
        xcb = _library("xcb", "libxcb.so.1")
        syms_lib = _library("xcb-keysyms", "libxcb-keysyms.so.1")
        if not conn or xcb is None or syms_lib is None:
            raise ShortcutError("libxcb-keysyms1 is not installed")
        xcb.xcb_get_setup.restype = ctypes.c_void_p
        xcb.xcb_get_setup.argtypes = [ctypes.c_void_p]
        xcb.xcb_setup_roots_iterator.restype = _RootIterator
        xcb.xcb_setup_roots_iterator.argtypes = [ctypes.c_void_p]
        xcb.xcb_grab_key_checked.restype = _Cookie
        xcb.xcb_grab_key_checked.argtypes = [ctypes.c_void_p, ctypes.c_uint8, ctypes.c_uint32,
                                             ctypes.c_uint16, ctypes.c_uint8, ctypes.c_uint8,
                                             ctypes.c_uint8]  # fmt: skip
        xcb.xcb_ungrab_key.restype = _Cookie
        xcb.xcb_ungrab_key.argtypes = [ctypes.c_void_p, ctypes.c_uint8, ctypes.c_uint32,
                                       ctypes.c_uint16]  # fmt: skip
        xcb.xcb_request_check.restype = ctypes.c_void_p
        xcb.xcb_request_check.argtypes = [ctypes.c_void_p, _Cookie]
        xcb.xcb_flush.argtypes = [ctypes.c_void_p]
        syms_lib.xcb_key_symbols_alloc.restype = ctypes.c_void_p
        syms_lib.xcb_key_symbols_alloc.argtypes = [ctypes.c_void_p]
        syms_lib.xcb_key_symbols_get_keycode.restype = ctypes.POINTER(ctypes.c_uint8)
        syms_lib.xcb_key_symbols_get_keycode.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        syms_lib.xcb_key_symbols_free.argtypes = [ctypes.c_void_p]
        libc = _library("c", "libc.so.6")
        libc.free.argtypes = [ctypes.c_void_p]

        root = xcb.xcb_setup_roots_iterator(xcb.xcb_get_setup(conn)).data.contents.root
        syms = syms_lib.xcb_key_symbols_alloc(conn)
        codes = syms_lib.xcb_key_symbols_get_keycode(syms, keysym)
        keycode = codes[0] if codes else 0
        if codes:
            libc.free(codes)
        syms_lib.xcb_key_symbols_free(syms)
        if not keycode:
            raise ShortcutError(f"this keyboard layout has no key for {self.shortcut}")
        failed = False
        for extra in _IGNORED:
            cookie = xcb.xcb_grab_key_checked(conn, 0, root, mask | extra, keycode,
                                              _GRAB_MODE_ASYNC, _GRAB_MODE_ASYNC)  # fmt: skip
            error = xcb.xcb_request_check(conn, cookie)
            if error:
                libc.free(error)
                failed = True
        xcb.xcb_flush(conn)
        self._conn, self._root, self._keycode, self._mask, self._xcb = (
            conn,
            root,
            keycode,
            mask,
            xcb,
        )
        if failed:
            self.release_grab()
            raise ShortcutError(f"{self.shortcut} is already used by another application")
        self._app.installNativeEventFilter(self)
        log.info("global push-to-talk: %s (keycode %d)", self.shortcut, keycode)

    def release_grab(self) -> None:
        if not self._conn:
            return
        self._app.removeNativeEventFilter(self)
        for extra in _IGNORED:
            self._xcb.xcb_ungrab_key(self._conn, self._keycode, self._root, self._mask | extra)
        self._xcb.xcb_flush(self._conn)
        self._conn = 0

    @property
    def active(self) -> bool:
        return bool(self._conn)

    def nativeEventFilter(self, event_type: QByteArray | bytes, message: Any) -> tuple[bool, int]:  # noqa: N802 (Qt API)
        if bytes(event_type) != b"xcb_generic_event_t" or not self._conn:
            return False, 0
        event = _KeyEvent.from_address(int(message))
        kind = event.response_type & 0x7F
        if kind not in (_KEY_PRESS, _KEY_RELEASE) or event.detail != self._keycode:
            return False, 0
        if event.event != self._root:
            return False, 0  # the key typed into one of Parley's own windows, not the grab
        if kind == _KEY_PRESS and not self.down:
            self.down = True
            self._pressed()
        elif kind == _KEY_RELEASE and self.down:
            self.down = False
            self._released()
        return True, 0


class _Screen(ctypes.Structure):
    _fields_ = [("root", ctypes.c_uint32)]  # the first field of xcb_screen_t is all we read


class _RootIterator(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.POINTER(_Screen)),
        ("rem", ctypes.c_int),
        ("index", ctypes.c_int),
    ]
