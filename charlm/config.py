"""How a model is trained, and the whole configuration saved beside its weights.

The configuration of a model has three parts, each a frozen dataclass:

* the architecture config (its own class per architecture, in :mod:`charlm.archs`);
* :class:`TrainConfig`: optimiser, batches, split, seed and the budget;
* :class:`~charlm.data.normalize.Normalization`: how raw text became model text.

:class:`ModelConfig` holds the three. Two configs describe "the same model"
for the store's cache when they differ only in the budget (epochs, patience,
time limit): a longer run of the same recipe is not another model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from charlm import archs, spec
from charlm.archs.base import ArchConfig
from charlm.data.normalize import Normalization
from charlm.errors import ConfigError
from charlm.spec import Spec, setting

OPTIMIZERS = ("rmsprop", "adam", "adamw")
SCHEDULES = ("plateau", "cosine")


def auto_batch_size(train_chars: int) -> int:
    """Chunks per batch scaled to the corpus: more text wants bigger batches.

    Measured (bench/train_bench.py, one core, the same 560 s budget): on the seed corpus (47k
    training characters) 16 was best; on an English novel (0.8M) 64 reached 1.448 nats per
    character of held-out text against 1.493 for 16, training 40k against 24k characters a second.
    """
    if train_chars <= 300_000:
        return 16
    return 32 if train_chars <= 600_000 else 64


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, batching, split and budget.

    Defaults were chosen by measurement on the seed corpus (52k characters,
    2 CPU cores; see ``bench/train_bench.py`` and docs/experiments.md):
    64-character chunks in batches of 16 (many updates per epoch on a small
    corpus), RMSprop as in the seed study at a high learning rate that is
    halved after every epoch without improvement, and early stopping. An
    architecture may start from other defaults (``ArchConfig.train_defaults``).
    """

    #: Fields that only say how long to train: changing them is not another model.
    BUDGET: ClassVar[tuple[str, ...]] = ("max_epochs", "patience", "time_limit")

    optimizer: str = setting("rmsprop", Spec(str, choices=OPTIMIZERS, flag="--optimizer",
                                             help="Optimizer (rmsprop, as in the seed study, adam or adamw)."))
    learning_rate: float = setting(1e-2, Spec(float, 0.0, 1.0, lo_open=True, flag="--lr", label="lr",
                                              help="Learning rate."))
    schedule: str = setting("plateau", Spec(str, choices=SCHEDULES, flag="--schedule",
                                            help="plateau: multiply the learning rate by --lr-decay after an "
                                                 "epoch without improvement; cosine: anneal it to a tenth over the "
                                                 "--time-limit (else over --epochs), as nanoGPT does."))
    lr_decay: float = setting(0.5, Spec(float, 0.0, 1.0, lo_open=True, flag="--lr-decay", label="lr-decay",
                                        help="Multiply the learning rate by this after an epoch without "
                                             "improvement (1 = off; plateau schedule)."))
    warmup: int = setting(0, Spec(int, 0, 1_000_000, flag="--warmup",
                                  help="Batches of linear learning-rate warm-up at the start (0 = off)."))
    weight_decay: float = setting(0.0, Spec(float, 0.0, 1.0, flag="--weight-decay", label="weight-decay",
                                            help="Decoupled weight decay (adamw only)."))
    clipnorm: float = setting(1.0, Spec(float, 0.0, 1e6, flag="--clipnorm", help="Gradient norm clipping (0 = off)."))
    ema: float = setting(0.0, Spec(float, 0.0, 1.0, hi_open=True, flag="--ema",
                                   help="Validate and keep an exponential moving average of the weights with "
                                        "this momentum (0 = off)."))
    seq_length: int = setting(64, Spec(int, 2, 10_000, flag="--seq-length", label="seq-length",
                                       help="Characters per training chunk (truncated BPTT length)."))
    batch_size: int = setting(0, Spec(int, 0, 4096, flag="--batch-size", label="batch-size",
                                      help="Chunks per batch (per replica when training on several devices); 0 = "
                                           "scaled to the corpus: 16 up to 0.3M training characters, 32 up to "
                                           "0.6M, 64 above."))
    stateful: bool = setting(False, Spec(bool, help="Carry the recurrent state across consecutive batches."))
    seed: int = setting(0, Spec(int, 0, 2**32 - 1, flag="--seed", help="Random seed (same seed, same model)."))
    val_fraction: float = setting(0.1, Spec(float, 0.0, 0.9, lo_open=True, hi_open=True, flag="--val-fraction",
                                            label="val-fraction",
                                            help="Fraction of the corpus (its tail) held out for validation."))
    max_epochs: int = setting(60, Spec(int, 1, 10_000, flag="--epochs", label="epochs",
                                       help="Maximum epochs (early stopping usually ends sooner)."))
    patience: int = setting(4, Spec(int, 0, 10_000, flag="--patience",
                                    help="Epochs without a better validation perplexity before stopping "
                                         "(0 = never stop early)."))
    time_limit: float = setting(0.0, Spec(float, 0.0, 3.2e7, label="time-limit",
                                          help="Stop after this many seconds of training (0 = no limit)."))

    def __post_init__(self) -> None:
        spec.validate(self)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def for_corpus(self, train_chars: int) -> TrainConfig:
        """This config with an automatic ``batch_size`` (0) made concrete for ``train_chars``."""
        if self.batch_size:
            return self
        return self.replace(batch_size=auto_batch_size(train_chars))

    def recipe(self) -> dict[str, Any]:
        """Everything but the budget: what decides which model comes out."""
        return {k: v for k, v in spec.to_mapping(self).items() if k not in self.BUDGET}

    @classmethod
    def for_arch(cls, arch: ArchConfig, **given: Any) -> TrainConfig:
        """The architecture's training defaults, then what the user gave."""
        return cls(**{**arch.train_defaults(), **given})


@dataclass(frozen=True)
class ModelConfig:
    """Architecture, training and normalisation of one model."""

    arch: ArchConfig
    training: TrainConfig = None  # type: ignore[assignment] - None: the architecture's training defaults
    normalization: Normalization = dataclasses.field(default_factory=Normalization)

    def __post_init__(self) -> None:
        if self.training is None:
            object.__setattr__(self, "training", TrainConfig.for_arch(self.arch))
        archs.of(self.arch).check_training(self.arch, self.training)

    @property
    def name(self) -> str:
        """The architecture's registry name ("lstm")."""
        return self.arch.ARCH

    @property
    def label(self) -> str:
        """"LSTM 1×192"."""
        return archs.of(self.arch).label(self.arch)

    def describe(self) -> str:
        """The architecture in a sentence ("LSTM, 1 layer × 192 units, embedding 64, dropout 0.1")."""
        return archs.of(self.arch).describe(self.arch)

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def same_model(self, other: ModelConfig) -> bool:
        """Equal but for the budget: the store's cache reuses such a model."""
        return (self.arch == other.arch and self.normalization == other.normalization
                and self.training.recipe() == other.training.recipe())

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch.to_dict(),
            "training": spec.to_mapping(self.training),
            "normalization": self.normalization.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        """Strict reading of :meth:`to_dict`'s object.

        Raises:
            ConfigError: any part missing, of the wrong type or out of range.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"model config must be a JSON object (got {type(data).__name__})")
        unknown = sorted(set(data) - {"arch", "training", "normalization"})
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(map(str, unknown))}")
        if "arch" not in data:
            raise ConfigError("model config has no architecture")
        return cls(
            arch=archs.config_from_dict(data["arch"]),
            training=spec.from_mapping(TrainConfig, data.get("training", {}), what="training config"),
            normalization=Normalization.from_dict(data.get("normalization", {})),
        )

    @classmethod
    def from_flat_v1(cls, data: Any) -> ModelConfig:
        """Read the flat config of store format 1 (charlm 0.1, RNNs only)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"model config must be a JSON object (got {type(data).__name__})")
        flat = dict(data)
        arch = archs.get(flat.pop("arch", "lstm"))
        norm = {k: flat.pop(k) for k in ("lowercase", "nfc", "collapse_whitespace") if k in flat}
        arch_fields = set(spec.specs(arch.config_cls))
        arch_part = {k: flat.pop(k) for k in list(flat) if k in arch_fields}
        flat.pop("reset_after", None)  # saved for every architecture in format 1; only GRU has it
        return cls.from_dict({"arch": {"name": arch.name, **arch_part}, "training": flat, "normalization": norm})
