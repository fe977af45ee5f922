"""The built-in default model and the sample corpus it was trained on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from charlm import store
from charlm.data import load_corpus
from charlm.data.samples import list_samples, sample_path
from charlm.data.split import split_corpus
from charlm.engine import Engine
from tests.conftest import random_model


@pytest.fixture(scope="module")
def builtin():
    record = store.builtin_record()
    assert record is not None, "charlm/models/default is missing: run `make default-model`"
    return record


def test_the_sample_corpus_is_long_varied_dialogue():
    assert "rioplatense" in list_samples()
    corpus = load_corpus([sample_path("rioplatense")])
    assert len(corpus.text) >= 60_000
    assert len(corpus.documents) > 1000
    for mark in "¿?¡!":
        assert mark in corpus.text
    assert "..." in corpus.text and any(c.isdigit() for c in corpus.text)


def test_builtin_model_was_trained_on_the_shipped_corpus(builtin):
    corpus = load_corpus([sample_path("rioplatense")], builtin.config.normalization)
    assert builtin.corpus.fingerprint == corpus.fingerprint
    assert builtin.status == "complete"


def test_recorded_perplexity_matches_a_fresh_evaluation(builtin):
    corpus = load_corpus([sample_path("rioplatense")], builtin.config.normalization)
    training = builtin.config.training
    val = split_corpus(corpus, training.val_fraction, training.seq_length + 1).val
    assert len(val) == builtin.corpus.val_chars
    fresh = Engine.load("default").perplexity(val)
    assert fresh == pytest.approx(builtin.val_perplexity, rel=0.01)


def test_builtin_model_is_small_enough_to_ship(builtin):
    size = sum(p.stat().st_size for p in builtin.path.iterdir())
    assert size <= 5 * 2**20


def test_an_empty_store_uses_the_builtin_model(builtin):
    from charlm.tui.cli import cli

    result = CliRunner().invoke(cli, ["--once", "¿qué hacés", "-n", "30", "--mode", "greedy", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["model"] == "default"
    assert Engine.load().record.builtin


def test_a_trained_model_takes_precedence_and_default_still_works(builtin):
    random_model("mine")
    assert Engine.load().record.name == "mine"
    assert Engine.load("default").record.builtin


def test_list_marks_the_builtin_model(builtin):
    from charlm.trainer.cli import cli

    listed = json.loads(CliRunner().invoke(cli, ["list", "--json"]).output)
    assert [m["name"] for m in listed if m["builtin"]] == ["default"]
    assert "built-in" in CliRunner().invoke(cli, ["list"]).output
