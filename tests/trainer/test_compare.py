"""`compare`: same corpus, split and budget per architecture; JSON rows, table, completions, Ctrl-C."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from charlm import archs, store
from charlm.data import load_corpus
from charlm.engine.settings import MODES
from charlm.errors import ConfigError
from charlm.trainer.cli import cli
from charlm.trainer.compare import (
    ArchCompared,
    CompareFinished,
    compare,
    default_prompt,
    parse_archs,
)
from charlm.trainer.fit import EpochEnd, FitFinished
from tests.conftest import tiny_config

TINY = ["--units", "8", "--embedding", "4", "--seq-length", "24", "--batch-size", "8", "--epochs", "1", "--lr", "0.01"]
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_parse_archs():
    assert parse_archs("gru, LSTM,gru") == ("gru", "lstm")
    with pytest.raises(ConfigError, match="unknown architecture 'perceptron'"):
        parse_archs("rnn,perceptron")
    with pytest.raises(ConfigError, match="at least one"):
        parse_archs(" , ")


def test_the_default_prompt_is_the_start_of_the_held_out_text(tiny_srt):
    corpus = load_corpus([tiny_srt])
    prompt = default_prompt(corpus, tiny_config("lstm"))
    assert 0 < len(prompt) <= 20 and prompt.endswith(" ")
    assert corpus.text.rfind(prompt) > 0.8 * len(corpus.text)


def test_compare_json_plot_then_table_from_the_cached_models(tiny_srt, tmp_path):
    png = tmp_path / "curves.png"
    result = invoke(
        "compare", str(tiny_srt), "--archs", "rnn,gru", *TINY, "--length", "12", "--json", "--plot", str(png)
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["arch"] for r in rows] == ["rnn", "gru"]
    assert [r["name"] for r in rows] == ["tiny-rnn", "tiny-gru"]
    for row in rows:
        for key in ("params", "val_perplexity", "train_seconds", "bits_per_char", "epochs", "prompt"):
            assert key in row
        assert row["epochs"] == 1 and row["reason"] == "max-epochs"
        assert set(row["completions"]) == set(MODES)
        assert all(len(text) == 12 for text in row["completions"].values())
        assert store.load_record(row["name"]).val_perplexity == pytest.approx(row["val_perplexity"], abs=1e-4)
    assert rows[0]["completions"] != rows[1]["completions"]
    assert png.read_bytes().startswith(PNG)

    again = invoke("compare", str(tiny_srt), "--archs", "rnn,gru", *TINY, "--length", "12")
    assert again.exit_code == 0, again.output
    out = again.stdout
    for text in ("SimpleRNN 1×8", "GRU 1×8", "tiny-rnn", "tiny-gru", "val ppl", "cached", "greedy", "sampled beam"):
        assert text in out, text
    assert f"{rows[1]['val_perplexity']:.4f}" in out


def test_bad_archs_is_a_one_line_error(tiny_srt):
    result = invoke("compare", str(tiny_srt), "--archs", "gru,cnn", *TINY)
    assert result.exit_code == 2
    assert [ln for ln in result.output.splitlines() if ln.strip()] == [
        f"Error: unknown architecture 'cnn' in --archs (choose from {', '.join(archs.names())})"
    ]


def test_plot_without_matplotlib_fails_before_training(tiny_srt, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke("compare", str(tiny_srt), *TINY, "--plot", str(tmp_path / "c.png"))
    assert result.exit_code == 2
    assert "pip install 'charlm[plot]'" in result.output and "Traceback" not in result.output
    assert store.list_models(include_builtin=False) == []


def test_ctrl_c_keeps_the_running_model_and_ends_the_comparison(tiny_srt):
    corpus = load_corpus([tiny_srt])
    fields = dict(units=8, layers=1, embedding=4, seq_length=24, batch_size=8, max_epochs=3, learning_rate=0.01)
    configs = [tiny_config(arch, **fields) for arch in ("rnn", "gru")]
    events = compare(corpus, configs, "cc", length=5)
    for event in events:
        if isinstance(event, EpochEnd) and event.epoch == 1:
            stopped = events.throw(KeyboardInterrupt())
            break
    rest = [stopped, *events]
    assert isinstance(rest[0], FitFinished) and rest[0].reason == "interrupted"
    assert isinstance(rest[-1], CompareFinished) and rest[-1].interrupted
    assert [type(e) for e in rest[1:-1]] == [ArchCompared]
    assert store.load_record("cc-rnn").interrupted
    assert [r.name for r in store.list_models(include_builtin=False)] == ["cc-rnn"]
