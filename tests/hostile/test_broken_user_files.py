"""Attacks through the small files charlm keeps besides models: the app's saved settings and
prompt history, a search's settings, and ``TF_CONFIG``. Whatever their shape (nested past
Python's stack, binary, huge), the app starts with its defaults and says why, and the commands
stop with one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from charlm.engine.settings import DecodeSettings
from charlm.trainer.cli import cli
from charlm.tui import prefs
from tests.hostile.conftest import one_line_error

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
BROKEN = {
    "nested past the stack": DEEP,
    "nested objects": DEEP_OBJECT,
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
    "empty": b"",
}


def write(path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_broken_saved_settings_give_the_defaults_and_a_reason(charlm_home, content):
    write(prefs.config_dir() / prefs.SETTINGS_FILE, content)
    saved = prefs.load_settings()
    assert saved.decode == DecodeSettings()
    assert len(saved.warnings) == 1 and "settings.json" in saved.warnings[0]


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_prompt_history_is_an_empty_one(charlm_home, content):
    write(prefs.config_dir() / prefs.HISTORY_FILE, content)
    assert prefs.load_history() == []


def test_a_huge_settings_file_is_not_read(charlm_home, monkeypatch):
    monkeypatch.setattr(prefs, "MAX_FILE_BYTES", 1_000)
    write(prefs.config_dir() / prefs.SETTINGS_FILE, '{"decode": {}, "view": {}}' + " " * 2_000)
    saved = prefs.load_settings()
    assert saved.decode == DecodeSettings() and "larger than 1,000 bytes" in saved.warnings[0]


@pytest.mark.parametrize("content", [DEEP, DEEP_OBJECT, "[1, 2]", '{"format": 2}'])
def test_resuming_a_search_whose_settings_are_broken(tiny_srt, charlm_home, content):
    write(charlm_home / "tuning" / "s" / "charlm-search.json", content)
    result = CliRunner().invoke(cli, ["tune", str(tiny_srt), "--name", "s", "--resume"])
    one_line_error(result, "charlm-search.json is")


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT, "\x1b[31m"])
def test_a_tf_config_of_any_shape(tiny_srt, monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    result = CliRunner().invoke(cli, ["fit", str(tiny_srt), "--strategy", "multi-worker", "--name", "r"])
    one_line_error(result, "TF_CONFIG is ")
