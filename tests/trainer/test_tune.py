"""`tune`: Hyperband over exact validation perplexity, stored best model, Ctrl-C and --resume."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from charlm import store
from charlm.archs import SEED_ARCHS
from charlm.data import load_corpus
from charlm.errors import ConfigError
from charlm.trainer import search_spec, tune
from charlm.trainer.cli import cli
from tests.conftest import random_model

SMALL = ["--max-epochs", "2", "--max-trials", "2", "--seq-length", "24", "--batch-size", "8", "--epochs", "2"]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def test_the_search_space_is_the_seeds_plus_layers():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    search_spec.declare_space(hp)
    space = {p.name: p.get_config() for p in hp.space}
    assert space["arch"]["values"] == list(SEED_ARCHS)
    assert (space["units"]["min_value"], space["units"]["max_value"], space["units"]["step"]) == (64, 256, 64)
    assert (space["layers"]["min_value"], space["layers"]["max_value"]) == (1, 2)
    assert (space["dropout"]["min_value"], space["dropout"]["max_value"], space["dropout"]["step"]) == (0.0, 0.3, 0.1)
    assert space["lr"]["values"] == [1e-2, 1e-3, 1e-4]
    config = search_spec.config_from_values(
        {"arch": "lstm", "units": 192, "layers": 2, "dropout": 0.30000000000000004, "lr": 0.01},
        search_spec.SearchSpec(),
    )
    a = config.arch
    assert (config.name, a.units, a.layers, a.dropout, config.training.learning_rate) == ("lstm", 192, 2, 0.3, 0.01)
    assert search_spec.searched_fields(config) == {"units": 192, "layers": 2, "dropout": 0.3}


def test_interrupted_search_resumes_without_redoing_finished_trials(tiny_srt, monkeypatch):
    calls = {"n": 0}
    train_epoch = tune.train_epoch

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # first epoch of the second trial (the first has 2 epochs)
            raise KeyboardInterrupt
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(tune, "train_epoch", interrupting)
    stopped = invoke("tune", str(tiny_srt), *SMALL)
    assert stopped.exit_code == 130, stopped.output
    assert "interrupted" in stopped.output and "--resume" in stopped.output
    assert (store.home() / "tuning" / "tiny-tuned" / search_spec.SEARCH_FILE).is_file()
    assert "tiny-tuned" not in [r.name for r in store.list_models()]

    assert "--resume" in one_error_line(invoke("tune", str(tiny_srt), *SMALL))
    assert "--max-epochs 2" in one_error_line(invoke("tune", str(tiny_srt), "--resume", "--max-epochs", "3"))

    calls["n"] = 10  # no more interruptions; count the search epochs of the resumed run
    resumed = invoke("tune", str(tiny_srt), "--resume", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert calls["n"] == 12, "only the interrupted trial (2 epochs) is run again"
    assert "resuming: 1 finished trials are kept" in resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["name"] == "tiny-tuned"
    search = out["search"]
    assert search["max_epochs"] == 2 and search["max_trials"] == 2
    assert [t["status"] for t in search["trials"]] == ["COMPLETED", "COMPLETED"]
    assert search["best_val_perplexity"] == pytest.approx(min(t["val_perplexity"] for t in search["trials"]))
    assert set(out["best_hyperparameters"]) == {"arch", "units", "layers", "dropout", "learning_rate"}
    model = out["model"]
    assert model["name"] == "tiny-tuned" and model["epochs"] == 2
    record = store.load_record("tiny-tuned")
    assert record.arch == out["best_hyperparameters"]["arch"]
    assert record.config.arch.units == out["best_hyperparameters"]["units"]
    # The objective is fit's number: the retrained winner, same seed and epochs, scores the same.
    assert model["val_perplexity"] == pytest.approx(search["best_val_perplexity"], rel=1e-3)
    listed = json.loads(invoke("list", "--json").stdout)
    assert "tiny-tuned" in [m["name"] for m in listed]


def test_resume_needs_a_search_and_a_search_needs_resume_or_force(tiny_srt):
    assert "nothing to resume" in one_error_line(invoke("tune", str(tiny_srt), "--resume", *SMALL[:2]))
    (store.home() / "tuning" / "tiny-tuned").mkdir(parents=True)
    line = one_error_line(invoke("tune", str(tiny_srt), *SMALL))
    assert "already exists" in line and "--resume" in line and "--force" in line
    assert "not a charlm search" in one_error_line(invoke("tune", str(tiny_srt), "--resume"))
    assert "mutually exclusive" in one_error_line(invoke("tune", str(tiny_srt), "--resume", "--force"))


def test_an_existing_model_of_that_name_needs_force(tiny_srt):
    random_model("tiny-tuned")
    assert "--force" in one_error_line(invoke("tune", str(tiny_srt), *SMALL))


def test_resume_on_another_corpus_is_an_error(tiny_srt, tmp_path):
    corpus = load_corpus([tiny_srt])
    spec = search_spec.resolve_spec("s", corpus, {"max_epochs": 2}, resume=False, force=False)
    search_spec.search_dir("s").mkdir(parents=True)
    (search_spec.search_dir("s") / search_spec.SEARCH_FILE).write_text(spec.to_json())
    assert search_spec.resolve_spec("s", corpus, {"max_trials": 5}, resume=True, force=False).max_trials == 5
    other = tmp_path / "other.txt"
    other.write_text(tiny_srt.read_text()[::-1])
    with pytest.raises(ConfigError, match="different corpus"):
        search_spec.resolve_spec("s", load_corpus([other]), {}, resume=True, force=False)


def test_without_keras_tuner_the_error_names_the_extra(tiny_srt, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_tuner", None)
    line = one_error_line(invoke("tune", str(tiny_srt), *SMALL))
    assert line == "Error: tune needs keras-tuner: pip install 'charlm[tune]'"
    assert not (store.home() / "tuning").exists()
