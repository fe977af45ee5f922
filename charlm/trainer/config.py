"""ModelConfig: every hyper-parameter of a model, saved as JSON beside its weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from typing import Any

from charlm.data.normalize import Normalization
from charlm.errors import ConfigError

ARCHS = ("rnn", "lstm", "gru")
OPTIMIZERS = ("rmsprop", "adam")
ARCH_NAMES = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture, optimisation and data options of one model.

    The defaults were chosen by measurement on the seed corpus (52k characters,
    2 CPU cores; see ``bench/train_bench.py`` and docs/experiments.md): one LSTM
    layer of 192 units on a 64-wide embedding -- the configuration a Hyperband
    search (`charlm-train tune`) picked, as it did in the seed study -- trained
    on 64-character chunks in batches of 16 (many updates per epoch on a small
    corpus), dropout on the recurrent output and on whole input characters,
    RMSprop as in the seed study at a high learning rate that is halved after
    every epoch without improvement, and early stopping.
    """

    arch: str = "lstm"
    units: int = 192
    layers: int = 1
    dropout: float = 0.1
    input_dropout: float = 0.1  # drop whole input characters (their embedding) at random
    embedding: int = 64  # 0 = one-hot input, as in the seed study
    reset_after: bool = True  # GRU only; True is the cuDNN-compatible variant
    seq_length: int = 64
    batch_size: int = 16
    stateful: bool = False  # carry the recurrent state across consecutive batches
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-2
    clipnorm: float = 1.0
    lr_decay: float = 0.5  # learning rate factor after an epoch without improvement (1 = off)
    ema: float = 0.0  # momentum of an exponential moving average of the weights (0 = off)
    max_epochs: int = 60
    patience: int = 4
    seed: int = 0
    val_fraction: float = 0.1
    lowercase: bool = True
    nfc: bool = True
    collapse_whitespace: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject absurd values with a message naming the option."""

        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        need(self.arch in ARCHS, f"arch must be one of {', '.join(ARCHS)} (got {self.arch!r})")
        need(self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        need(1 <= self.units <= 4096, f"units must be between 1 and 4096 (got {self.units})")
        need(1 <= self.layers <= 8, f"layers must be between 1 and 8 (got {self.layers})")
        need(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1) (got {self.dropout})")
        need(0.0 <= self.input_dropout < 1.0, f"input dropout must be in [0, 1) (got {self.input_dropout})")
        need(0 <= self.embedding <= 1024, f"embedding must be between 0 and 1024 (got {self.embedding})")
        need(2 <= self.seq_length <= 10_000, f"seq-length must be between 2 and 10000 (got {self.seq_length})")
        need(1 <= self.batch_size <= 4096, f"batch-size must be between 1 and 4096 (got {self.batch_size})")
        need(0.0 < self.learning_rate <= 1.0, f"lr must be in (0, 1] (got {self.learning_rate})")
        need(self.clipnorm >= 0.0, f"clipnorm must be >= 0 (got {self.clipnorm})")
        need(0.0 <= self.ema < 1.0, f"ema must be in [0, 1) (got {self.ema})")
        need(0.0 < self.lr_decay <= 1.0, f"lr-decay must be in (0, 1] (got {self.lr_decay})")
        need(1 <= self.max_epochs <= 10_000, f"epochs must be between 1 and 10000 (got {self.max_epochs})")
        need(0 <= self.patience <= 10_000, f"patience must be >= 0 (got {self.patience})")
        need(0.0 < self.val_fraction < 0.9, f"val-fraction must be in (0, 0.9) (got {self.val_fraction})")
        need(0 <= self.seed < 2**32, f"seed must be between 0 and 2**32-1 (got {self.seed})")

    @property
    def one_hot(self) -> bool:
        return self.embedding == 0

    @property
    def normalization(self) -> Normalization:
        return Normalization(self.lowercase, self.nfc, self.collapse_whitespace)

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Strict: unknown keys and wrongly typed values are rejected."""
        if not isinstance(data, dict):
            raise ConfigError("model config must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        defaults = cls.__new__(cls)
        for f in fields(cls):
            object.__setattr__(defaults, f.name, f.default)
        for key, value in data.items():
            expected = type(getattr(defaults, key))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not expected:
                raise ConfigError(f"config key {key!r} must be {expected.__name__}")
            data = {**data, key: value}
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"model config is not valid JSON: {exc}") from None
