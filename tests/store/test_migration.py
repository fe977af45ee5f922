"""Models saved by charlm 0.1 (store format 1, one flat config) still load and score the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from charlm import store
from charlm.engine import Engine

FIXTURES = Path(__file__).parent / "fixtures"
#: What charlm 0.1 itself computed for these models (its Engine, before the reshaping).
PERPLEXITY_BY_V1 = {"v1-gru": 20.983935087918248, "v1-lstm": 18.09710141854965}


@pytest.fixture
def v1_models(charlm_home):
    (charlm_home / "models").mkdir(parents=True)
    for name in PERPLEXITY_BY_V1:
        shutil.copytree(FIXTURES / name, charlm_home / "models" / name)


def test_format_1_models_load_with_their_configs_split(v1_models):
    gru = store.load_record("v1-gru")
    assert gru.arch == "gru" and gru.config.arch.reset_after is False and gru.config.arch.units == 6
    assert gru.config.training.learning_rate == 0.01 and gru.config.training.seq_length == 64
    assert gru.config.normalization.lowercase
    lstm = store.load_record("v1-lstm")
    assert lstm.arch == "lstm" and lstm.config.arch.one_hot
    assert not hasattr(lstm.config.arch, "reset_after")  # format 1 saved it for every architecture


@pytest.mark.parametrize("name", sorted(PERPLEXITY_BY_V1))
def test_format_1_models_score_exactly_as_charlm_0_1_did(v1_models, name):
    assert Engine.load(name).perplexity("¿qué tal, che?") == pytest.approx(PERPLEXITY_BY_V1[name], rel=1e-6)


def test_a_migrated_model_is_saved_again_in_the_current_format(v1_models):
    record = store.load_record("v1-gru")
    weights = store.load_weights(record)
    saved = store.save_model("v2-gru", record, weights)
    assert '"format": 2' in (saved.path / "config.json").read_text()
    again = store.load_record("v2-gru")
    assert again.config == record.config
    for key, value in store.load_weights(again).items():
        np.testing.assert_array_equal(value, weights[key])
