"""Attacks through names and paths: what a user types never escapes the store, is never read as
markup, and an unwritable store is reported before any training starts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from charlm import store
from charlm.errors import InvalidNameError
from charlm.trainer.cli import cli
from tests.conftest import dialogue_lines, write_srt
from tests.hostile.conftest import one_line_error

TINY = ["--units", "8", "--embedding", "4", "--seq-length", "16", "--batch-size", "8", "--epochs", "1"]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))



@pytest.mark.parametrize("name", ["film\n", "film\r", "\nfilm", "film\x00", "fi\u202elm", "film ", "", " ",
                                  "../film", "..", "a/b", "a\\b", "/etc", ".hidden", "-rf", "x" * 65, "default",
                                  "film\u2028", "ﬁlm"])
def test_names_must_match_whole(name, tiny_srt, charlm_home):
    with pytest.raises(InvalidNameError):
        store.validate_name(name)
    one_line_error(invoke("fit", str(tiny_srt), "--name", name, *TINY), "name")
    assert not (charlm_home / "models").exists() or not [
        p for p in (charlm_home / "models").iterdir() if not p.name.startswith(".")]


def test_an_empty_name_is_rejected_not_ignored(tiny_srt):
    one_line_error(invoke("fit", str(tiny_srt), "--name", "", *TINY), "invalid model name ''")


@pytest.mark.parametrize("folder", ["a[/b]", "[bold red]x[/]", "[link=file:///etc]y"])
def test_paths_and_names_are_shown_exactly_never_as_markup(tmp_path, folder):
    where = tmp_path / folder
    where.mkdir(parents=True)
    path = write_srt(where / "film.srt", dialogue_lines(200))
    fitted = invoke("fit", str(path), "--name", "m", *TINY)
    assert fitted.exit_code == 0, fitted.output
    shown = CliRunner(env={"COLUMNS": "500"}).invoke(cli, ["show", "m"])
    assert shown.exit_code == 0, shown.output
    assert str(path) in shown.output
    listed = json.loads(invoke("list", "--json").output)
    assert str(path) in [m["corpus"] for m in listed]


def test_a_charlm_home_that_is_a_file_fails_before_training(tiny_srt, tmp_path, monkeypatch):
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("CHARLM_HOME", str(home))
    one_line_error(invoke("fit", str(tiny_srt), *TINY), "cannot save models in")


def test_a_read_only_store_fails_before_training(tiny_srt, charlm_home, monkeypatch):
    models = charlm_home / "models"
    models.mkdir(parents=True)
    if os.geteuid() != 0:
        models.chmod(0o555)
    else:  # root ignores permission bits: make the store refuse writes the way a read-only mount does
        real_mkdir = Path.mkdir

        def refuse(self, *args, **kwargs):
            if str(self).startswith(str(models)) and self != models:
                raise PermissionError(13, "Permission denied", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", refuse)
    try:
        one_line_error(invoke("fit", str(tiny_srt), *TINY), "cannot save models in", "ermission denied")
    finally:
        models.chmod(0o755)


def test_stop_signal_names_are_what_the_user_typed_in_errors(tmp_path):
    weird = tmp_path / "\x1b]0;pwned\x07.srt"
    one_line_error(invoke("fit", str(weird)), "no such file")
    out = invoke("fit", str(weird)).output
    assert "\x1b" not in out and "\x07" not in out
