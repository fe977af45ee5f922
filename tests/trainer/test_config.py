"""ModelConfig: validation and strict JSON round trip."""

from __future__ import annotations

import pytest

from charlm.errors import ConfigError
from charlm.trainer.config import ModelConfig


def test_json_round_trip():
    config = ModelConfig(arch="lstm", units=64, embedding=0, learning_rate=0.01, lowercase=False)
    assert ModelConfig.from_json(config.to_json()) == config


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "colour": "red"})


def test_wrong_types_are_rejected():
    with pytest.raises(ConfigError, match="units"):
        ModelConfig.from_dict({"units": "128"})


@pytest.mark.parametrize(
    "changes",
    [
        {"arch": "transformer"},
        {"units": 0},
        {"dropout": 1.0},
        {"seq_length": 1},
        {"learning_rate": 0.0},
        {"optimizer": "sgd"},
        {"val_fraction": 0.95},
        {"layers": 0},
        {"lr_decay": 0.0},
    ],
)
def test_absurd_values_are_rejected(changes):
    with pytest.raises(ConfigError):
        ModelConfig(**changes)
