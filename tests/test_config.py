"""Settings: what the user chose comes back next start; a broken file never stops the app."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from app.config import DEFAULT_SYSTEM_PROMPT, Settings, config_dir


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "settings.json"  # the folder is created on save
    s = Settings(
        input_device="USB Mic",
        output_device="3",
        llm_model="/models/other.gguf",
        llm_context=2048,
        llm_max_tokens=64,
        llm_temperature=0.7,
        llm_threads=2,
        system_prompt="Talk like a pirate.",
        speak_replies=False,
        sound_cues=False,
    )
    s.save(path)
    assert Settings.load(path) == s
    assert not path.with_suffix(".tmp").exists()  # no half-written leftovers


def test_default_location_is_the_config_dir() -> None:
    """conftest points PARLEY_CONFIG_DIR at a temp dir; save/load without a path use it."""
    s = Settings(system_prompt="custom")
    s.save()
    assert (config_dir() / "settings.json").is_file()
    assert Settings.load().system_prompt == "custom"


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    assert Settings.load(tmp_path / "missing.json") == Settings()
    assert Settings().system_prompt == DEFAULT_SYSTEM_PROMPT


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        '{"llm_context": 2048',  # cut off mid-write
        "null",
        "[1, 2, 3]",
        '"llm_context"',
        "42",
        "\x00\x01\x02",
    ],
)
def test_a_corrupt_file_falls_back_to_defaults(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    assert Settings.load(path) == Settings()


def test_invalid_utf8_falls_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b'{"system_prompt": "\xff\xfe"}')
    assert Settings.load(path) == Settings()


def test_a_folder_in_place_of_the_file_falls_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()
    assert Settings.load(path) == Settings()


def test_wrongly_typed_values_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "llm_context": "big",  # str for int
                "llm_max_tokens": True,  # bool is not a number of tokens
                "speak_replies": "yes",  # str for bool
                "sound_cues": 1,  # int for bool
                "system_prompt": ["a", "list"],
                "input_device": None,
                "llm_threads": 3,  # this one is fine and must be kept
                "unknown_key": 1,  # from a newer version: ignored
            }
        ),
        encoding="utf-8",
    )
    s = Settings.load(path)
    d = Settings()
    assert s.llm_context == d.llm_context
    assert type(s.llm_max_tokens) is int and s.llm_max_tokens == d.llm_max_tokens
    assert s.speak_replies is d.speak_replies
    assert s.sound_cues is d.sound_cues
    assert s.system_prompt == d.system_prompt
    assert s.input_device == d.input_device
    assert s.llm_threads == 3


def test_a_whole_number_temperature_is_accepted(tmp_path: Path) -> None:
    """JSON written by hand says 1, not 1.0; that is still a valid temperature."""
    path = tmp_path / "settings.json"
    path.write_text('{"llm_temperature": 1}', encoding="utf-8")
    s = Settings.load(path)
    assert s.llm_temperature == 1.0
    assert isinstance(s.llm_temperature, float)


def test_saved_file_is_plain_readable_json(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    Settings(llm_threads=4).save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == asdict(Settings(llm_threads=4))
