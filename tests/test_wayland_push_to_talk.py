"""Hold Space to talk in the real window on a real Wayland compositor (sway, headless), with
the compositor's key repeat on (250 ms, 30 per second), as a Wayland window and as an X11
window on Xwayland. On Wayland the client makes the repeats: Qt's wayland plugin sends a press
and release flagged autorepeat 30 times a second while the key is down, on a timer of its
own, so a busy GUI thread gets them late and in bursts; Xwayland makes X11's own repeats.
Driven from outside: `wtype` holds the key through the virtual-keyboard protocol while the
question is spoken into the virtual microphone in real time, and lets go 0.4 s after it; the
answer is recorded from the virtual speaker. The code before the autorepeat fix (a release
ended the turn whatever its flag) made 127 turns of one hold in the Wayland window."""

from __future__ import annotations

import shutil

import pytest

from tests.wayland import WaylandServer, XWayland
from tests.x11 import Window, assert_one_turn_and_its_answer_heard, record_one_hold

QUESTION = "How many legs does a spider have?"

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("sway", "wtype", "Xwayland")),
    reason="sway, wtype and Xwayland are needed: scripts/setup.sh --test",
)


@pytest.fixture
def compositor():
    with WaylandServer(repeat_delay_ms=250, repeat_rate_hz=30) as server:
        yield server


@pytest.mark.models
@pytest.mark.audio
@pytest.mark.parametrize(
    ("display", "autorepeat"),
    [
        ("wayland", ""),  # a Wayland window: Qt makes flagged repeats on its own timer
        ("xwayland", ""),  # an X11 window on Wayland: detectable autorepeat, as on X11
        ("xwayland", "plain"),  # Xwayland's fake releases left on: the key-state check
    ],
    ids=["wayland", "xwayland", "xwayland-fake-releases"],
)
def test_holding_space_on_wayland_is_one_turn_and_an_answer(
    virtual_audio, compositor, speech, tmp_path, real_models, display, autorepeat
):
    """The GUI thread is kept busy (150 ms of every 200 ms), as on a loaded machine."""
    question = speech(QUESTION)
    settings = {"sound_cues": False, "global_talk_key": ""}
    screen = compositor if display == "wayland" else XWayland(compositor)
    env = {"PARLEY_X11_AUTOREPEAT": autorepeat}
    with Window(screen, tmp_path, busy="150/200", settings=settings, env=env) as window:
        window.wait_ready()
        screen.autorepeat(250, 30)
        finished, events, heard, rate = record_one_hold(screen, window, question, tmp_path)
    keys = [e for e in events if e["kind"] == "key"]
    # The key repeated in the window (else this test would not test anything): flagged pairs
    # on Wayland, presses alone with detectable autorepeat, fake pairs with it off.
    assert sum(e["action"] == "press" for e in keys) >= 20, keys[:10]
    assert_one_turn_and_its_answer_heard(
        QUESTION, ("eight", "8"), finished, events, heard, rate, real_models.stt
    )
