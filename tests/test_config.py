"""The model configuration: architecture, training and normalisation parts, strict JSON."""

from __future__ import annotations

import pytest

from charlm import archs
from charlm.config import ModelConfig, TrainConfig
from charlm.data.normalize import Normalization
from charlm.errors import ConfigError
from tests.conftest import tiny_config


def test_json_round_trip():
    config = tiny_config("lstm", units=64, embedding=0, learning_rate=0.01, lowercase=False)
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_unknown_keys_are_rejected_in_every_part():
    data = tiny_config("gru").to_dict()
    for part in ("arch", "training", "normalization"):
        bad = {**data, part: {**data[part], "colour": "red"}}
        with pytest.raises(ConfigError, match="unknown .*keys: colour"):
            ModelConfig.from_dict(bad)
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        ModelConfig.from_dict({**data, "colour": "red"})


def test_wrong_types_are_rejected():
    data = tiny_config("gru").to_dict()
    with pytest.raises(ConfigError, match="units"):
        ModelConfig.from_dict({**data, "arch": {**data["arch"], "units": "128"}})
    with pytest.raises(ConfigError, match="lr"):
        ModelConfig.from_dict({**data, "training": {**data["training"], "learning_rate": True}})


@pytest.mark.parametrize(
    "changes",
    [{"units": 0}, {"dropout": 1.0}, {"seq_length": 1}, {"learning_rate": 0.0}, {"optimizer": "sgd"},
     {"val_fraction": 0.95}, {"layers": 0}, {"lr_decay": 0.0}, {"learning_rate": float("nan")},
     {"units": 10**9}],
)
def test_absurd_values_are_rejected(changes):
    with pytest.raises(ConfigError):
        tiny_config("gru", **changes)


def test_unknown_architecture():
    with pytest.raises(ConfigError, match="arch must be one of"):
        ModelConfig.from_dict({"arch": {"name": "perceptron"}})


def test_the_budget_is_not_another_model():
    a = tiny_config("lstm", max_epochs=5, patience=2)
    assert a.same_model(tiny_config("lstm", max_epochs=50, patience=0, time_limit=60.0))
    assert not a.same_model(tiny_config("lstm", learning_rate=0.5))
    assert not a.same_model(tiny_config("gru"))
    assert not a.same_model(a.replace(normalization=Normalization(lowercase=False)))


def test_stateful_needs_a_recurrent_architecture():
    config = tiny_config("lstm", stateful=True)
    assert config.training.stateful
    assert TrainConfig.BUDGET == ("max_epochs", "patience", "time_limit")


def test_every_registered_architecture_has_a_label_layout_and_defaults():
    for name, arch in archs.REGISTRY.items():
        config = arch.config()
        assert arch.label(config).startswith(arch.title)
        assert arch.count_params(config, 50) > 0
        assert ModelConfig.from_dict(ModelConfig(config).to_dict()).arch == config, name


def test_an_automatic_batch_size_is_scaled_to_the_corpus():
    from charlm.config import auto_batch_size

    assert [auto_batch_size(n) for n in (47_000, 300_000, 500_000, 800_000, 10**8)] == [16, 16, 32, 64, 64]
    auto = TrainConfig()
    assert auto.batch_size == 0 and auto.for_corpus(800_000).batch_size == 64
    assert auto.replace(batch_size=8).for_corpus(800_000).batch_size == 8  # what the user gave is kept


def test_a_fitted_model_records_its_concrete_batch_size(tiny_srt):
    from charlm.data import load_corpus
    from charlm.trainer.fit import FitFinished, fit

    config = tiny_config("gru", units=8, embedding=4, seq_length=16, max_epochs=1)
    assert config.training.batch_size == 0
    done = [e for e in fit(load_corpus([tiny_srt]), config, "auto") if isinstance(e, FitFinished)][-1]
    assert done.record.config.training.batch_size == 16
    again = [e for e in fit(load_corpus([tiny_srt]), config, "auto") if isinstance(e, FitFinished)][-1]
    assert again.reason == "cached"
