"""Validation-perplexity curves: `plot_histories`, `show --plot`, and the missing-extra message."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

from charlm.errors import ConfigError, MissingExtraError
from charlm.store import EpochRecord
from charlm.trainer.cli import cli
from charlm.trainer.plot import plot_histories
from tests.conftest import random_model

PNG = b"\x89PNG\r\n\x1a\n"


def two_records():
    a, _ = random_model("a", "gru")
    b, _ = random_model("b", "lstm")
    history = tuple(EpochRecord(e, 3.0 - 0.2 * e, 9.0 - e, 0.1) for e in range(1, 6))
    return [replace(a, history=history, best_epoch=5, val_perplexity=4.0), b]


def test_plot_histories_writes_a_png(tmp_path):
    path = plot_histories(two_records(), tmp_path / "curves.png")
    assert path.read_bytes().startswith(PNG)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left behind"


def test_the_suffix_chooses_the_format(tmp_path):
    assert (plot_histories(two_records(), tmp_path / "c.svg")).read_text().lstrip().startswith("<?xml")


def test_unknown_format_and_empty_history_are_config_errors(tmp_path):
    records = two_records()
    with pytest.raises(ConfigError, match="cannot write a .nope image"):
        plot_histories(records, tmp_path / "c.nope")
    with pytest.raises(ConfigError, match="no training history"):
        plot_histories([replace(r, history=()) for r in records], tmp_path / "c.png")
    with pytest.raises(ConfigError, match="cannot write"):
        plot_histories(records, tmp_path / "missing-dir" / "c.png")


def test_show_plot_writes_a_png(tmp_path):
    random_model("m")
    out = tmp_path / "m.png"
    result = CliRunner().invoke(cli, ["show", "m", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)
    assert "curve written to" in result.output


def test_without_matplotlib_the_error_names_the_extra(tmp_path, monkeypatch):
    random_model("m")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'charlm\[plot\]'"):
        plot_histories(two_records(), tmp_path / "c.png")
    result = CliRunner().invoke(cli, ["show", "m", "--plot", str(tmp_path / "m.png")])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines == ["Error: plotting needs matplotlib: pip install 'charlm[plot]'"]
    assert not (tmp_path / "m.png").exists()
