"""The remote model in the window: set in Settings, the LLM engine is re-created without a
restart, the window's answers come from that server, and the key stays out of sight."""

from __future__ import annotations

import os
import stat

import pytest

from app.config import Settings
from app.llm.remote import RemoteChat
from app.ui.settings_dialog import SettingsDialog
from tests.realtools import ask_typed
from tests.remote_servers import ScriptedServer, closed_port

KEY = "sk-parley-gui-3b9d7e1f"

pytestmark = pytest.mark.models


def test_remote_model_set_in_settings_answers_then_back_to_local(gui, qtbot):
    gui.session.settings.speak_replies = False
    server = ScriptedServer()
    try:
        local = gui.session.engines.llm
        dialog = SettingsDialog(gui.session.settings, gui.backend, gui)
        assert dialog.llm_api_key.echoMode() == dialog.llm_api_key.EchoMode.Password
        dialog.llm_url.setText(f"  {server.url}/v1 ")
        dialog.llm_remote_model.setText("big-model-70b")
        dialog.llm_api_key.setText(KEY)
        dialog.llm_remote_vision.setChecked(True)
        expected = {
            "llm_url": f"{server.url}/v1",
            "llm_remote_model": "big-model-70b",
            "llm_api_key": KEY,
            "llm_remote_vision": True,
        }
        assert dialog.engine_changes() == {"llm": expected}
        reloads = gui.apply_settings(dialog)
        assert gui.session.settings.llm_url == ""  # written only once the new engine works
        qtbot.waitUntil(lambda: reloads[0].done(), timeout=30_000)
        assert reloads[0].result() is True

        llm = gui.session.engines.llm
        assert isinstance(llm, RemoteChat) and llm.supports_vision
        assert gui.status.states["llm"] == "ready"
        saved = Settings.load()
        assert {k: getattr(saved, k) for k in expected} == expected
        path = os.path.join(os.environ["PARLEY_CONFIG_DIR"], "settings.json")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

        result = ask_typed(gui, qtbot, "Hello?")
        assert result.reply == "Hello there."
        assert gui.chat.find("assistant", result.turn_id).text == "Hello there."
        sent = server.chats()[-1]
        assert sent.headers["Authorization"] == f"Bearer {KEY}"
        assert sent.body["messages"][-1] == {"role": "user", "content": "Hello?"}

        # The same dialog again shows the settings (the key masked), and an unchanged Save
        # re-creates nothing.
        dialog = SettingsDialog(gui.session.settings, gui.backend, gui)
        assert dialog.llm_url.text() == f"{server.url}/v1"
        assert dialog.engine_changes() == {}

        # Emptying the address brings the local model back.
        dialog.llm_url.setText("")
        reloads = gui.apply_settings(dialog)
        qtbot.waitUntil(lambda: reloads[0].done(), timeout=60_000)
        assert reloads[0].result() is True
        assert gui.session.engines.llm is local
        assert Settings.load().llm_url == ""
        assert Settings.load().llm_api_key == KEY  # remembered for next time
    finally:
        server.stop()
    texts = " ".join(b.text for b in gui.chat.bubbles) + gui.status.toolTip()
    assert KEY not in texts


def test_a_server_that_is_down_is_explained_in_the_conversation(gui, qtbot):
    gui.session.settings.speak_replies = False
    url = f"http://127.0.0.1:{closed_port()}"
    dialog = SettingsDialog(gui.session.settings, gui.backend, gui)
    dialog.llm_url.setText(url)
    reloads = gui.apply_settings(dialog)
    qtbot.waitUntil(lambda: reloads[0].done(), timeout=30_000)
    result = ask_typed(gui, qtbot, "Hello?")
    assert result.reply == ""
    errors = [b.text for b in gui.chat.bubbles if b.role == "error"]
    assert (
        f"Can't answer: Could not reach the LLM server at {url}: connection refused. "
        in (errors[-1])
    )


def test_remote_fields_without_a_server_are_only_remembered(gui):
    dialog = SettingsDialog(gui.session.settings, gui.backend, gui)
    dialog.llm_remote_model.setText("qwen-72b")
    dialog.llm_api_key.setText(KEY)
    assert dialog.engine_changes() == {}  # no server set: nothing to load
    assert gui.apply_settings(dialog) == []
    assert gui.session.settings.llm_remote_model == "qwen-72b"
    assert Settings.load().llm_api_key == KEY
