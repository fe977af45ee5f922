"""What a hyper-parameter search searches, and its settings saved beside the tuner state.

The space is the seed study's (architecture, units 64-256 step 64, dropout
0-0.3 step 0.1, learning rate 1e-2/1e-3/1e-4) plus 1 or 2 layers; each
architecture declares its own part (``Architecture.search_space``, active
only when that architecture is chosen), so the Transformer brings its own.
Every other option is the architecture's training default or what the user
gave, so ``fit`` can train the winner.

A search's settings (:class:`SearchSpec`) live in
``store.home() / "tuning" / <name> / charlm-search.json``, written before the
first trial, so a stopped search resumes with the same settings and the
workers of a distributed search read their chief's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charlm import archs, store
from charlm.config import ModelConfig, TrainConfig
from charlm.data.corpus import Corpus
from charlm.data.normalize import Normalization
from charlm.errors import ConfigError, MissingExtraError
from charlm.spec import parse_json

INSTALL_HINT = "pip install 'charlm[tune]'"
SEARCH_FILE = "charlm-search.json"
OBJECTIVE = "val_perplexity"
LEARNING_RATES = (1e-2, 1e-3, 1e-4)
#: What ``--resume`` may change; every other setting must match the saved search.
RESUMABLE_CHANGES = ("max_trials",)


def require_keras_tuner():
    """The keras_tuner module; raises MissingExtraError (a one-line error naming the extra) without it."""
    from charlm.tf_quiet import quiet_tensorflow

    quiet_tensorflow()
    try:
        import keras_tuner
    except ImportError:
        raise MissingExtraError(f"tune needs keras-tuner: {INSTALL_HINT}") from None
    return keras_tuner


def search_dir(name: str) -> Path:
    """Where the search ``name`` keeps its tuner state (inside the store's folder)."""
    return store.home() / "tuning" / store.validate_name(name)


@dataclass(frozen=True)
class SearchSpec:
    """The settings of one search, saved beside its tuner state.

    ``training`` holds the training options the user gave (on top of each
    architecture's defaults); its ``max_epochs`` and ``patience`` are the budget
    of the final ``fit`` of the winner.
    """

    archs: tuple[str, ...] = archs.SEED_ARCHS
    training: dict[str, Any] = field(default_factory=dict)
    normalization: Normalization = field(default_factory=Normalization)
    max_epochs: int = 10  # Hyperband's budget for one trial
    max_trials: int | None = None  # None: as many as Hyperband schedules
    factor: int = 3
    fingerprint: str = ""
    sources: tuple[str, ...] = ()
    train_chars: int = 0  # decides an automatic batch size

    def __post_init__(self) -> None:
        if not 1 <= self.max_epochs <= 1000 or not 1 <= (self.max_trials or 1) <= 10_000 or self.factor < 2:
            raise ConfigError(
                f"max-epochs must be in 1-1000 and max-trials in 1-10000 (got {self.max_epochs}, {self.max_trials})"
            )
        for name in self.archs:
            archs.get(name)
        TrainConfig(**self.training)  # checks every given value

    def to_json(self) -> str:
        data = {**self.__dict__, "format": 2, "archs": list(self.archs), "normalization": self.normalization.to_dict(),
                "sources": list(self.sources)}
        return json.dumps(data, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SearchSpec:
        data = parse_json(text, SEARCH_FILE)
        try:
            if data.pop("format", None) != 2:
                raise ValueError("unknown format")
            return cls(**{**data, "archs": tuple(data["archs"]), "sources": tuple(data["sources"]),
                          "training": dict(data["training"]),
                          "normalization": Normalization.from_dict(data["normalization"])})
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise ConfigError(f"{SEARCH_FILE} is malformed ({exc})") from None

    def config(self, arch_config) -> ModelConfig:
        """The full config of one candidate architecture config (lr comes from the trial; an
        automatic batch size is decided for the searched corpus)."""
        training = TrainConfig.for_arch(arch_config, **self.training)
        if not training.batch_size and self.train_chars:
            training = training.for_corpus(self.train_chars)
        return ModelConfig(arch_config, training, self.normalization)


class _Fixed:
    """Stands in for keras-tuner's HyperParameters when the values are already known."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = values

    def Int(self, name, *args, **kwargs):  # noqa: N802 - keras-tuner's names
        return self.values[name]

    Float = Choice = Boolean = Int


def _groups(names: tuple[str, ...]) -> dict[Any, list[str]]:
    """Architectures that share one search space (SimpleRNN, LSTM, GRU), in order."""
    groups: dict[Any, list[str]] = {}
    for name in names:
        arch = archs.get(name)
        groups.setdefault(type(arch).search_space, []).append(name)
    return groups


def searched_fields(config: ModelConfig) -> dict[str, Any]:
    """The architecture fields a search varies, with this config's values."""

    class Any0(_Fixed):
        def Int(self, name, *args, **kwargs):  # noqa: N802 - keras-tuner's names
            return 0

        Float = Choice = Boolean = Int

    fields = archs.of(config.arch).search_space(Any0({}))
    return {f: getattr(config.arch, f) for f in fields}


def config_from_values(values: Mapping[str, Any], spec: SearchSpec) -> ModelConfig:
    """The ModelConfig a trial's hyper-parameter values stand for."""
    arch = archs.get(str(values["arch"]))
    arch_config = arch.config(**arch.search_space(_Fixed(values)))
    config = spec.config(arch_config)
    return config.replace(training=config.training.replace(learning_rate=float(values["lr"])))


def declare_space(hp, names: tuple[str, ...] = archs.SEED_ARCHS) -> dict[str, Any]:
    """Declare the search space on a ``kt.HyperParameters``; returns this trial's values."""
    values = {"arch": hp.Choice("arch", list(names))}
    for members in _groups(names).values():
        with hp.conditional_scope("arch", members):
            archs.get(members[0]).search_space(hp)
    values["lr"] = hp.Choice("lr", list(LEARNING_RATES))
    return values


#: Command-line option -> (where it lives, field). "spec": SearchSpec, "training": a TrainConfig field.
OPTION_FIELDS = {
    "max_epochs": ("spec", "max_epochs"),
    "max_trials": ("spec", "max_trials"),
    "seed": ("training", "seed"),
    "seq_length": ("training", "seq_length"),
    "batch_size": ("training", "batch_size"),
    "epochs": ("training", "max_epochs"),
    "patience": ("training", "patience"),
}


def option_value(spec: SearchSpec, key: str) -> Any:
    where, attr = OPTION_FIELDS[key]
    if where == "spec":
        return getattr(spec, attr)
    return spec.training.get(attr, getattr(TrainConfig(), attr))


def resolve_spec(name: str, corpus: Corpus, options: Mapping[str, Any], *, resume: bool, force: bool,
                 arch_names: tuple[str, ...] = archs.SEED_ARCHS) -> SearchSpec:
    """The spec to run, checked against the store before anything is trained.

    ``options`` maps keys of ``OPTION_FIELDS`` to values (None = not given).
    A new search uses them on top of the defaults; ``resume`` uses the saved
    search, where only ``RESUMABLE_CHANGES`` may differ (e.g. more trials).

    Raises:
        ConfigError: a search exists (and neither resume nor force), nothing to
            resume, another corpus or other settings, or a model of that name exists.
        InvalidNameError: an unusable name.
    """
    if resume and force:
        raise ConfigError("--resume and --force are mutually exclusive")
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(OPTION_FIELDS))
    if unknown:
        raise ConfigError(f"unknown search options: {', '.join(unknown)}")
    folder = search_dir(name)
    if not resume:
        if folder.exists() and not force:
            raise ConfigError(
                f"a search named {name!r} already exists ({folder}); pass --resume to continue it "
                "or --force to start over"
            )
        if not force and name in {e.name for e in store.scan(include_builtin=False)}:
            raise ConfigError(
                f"a model named {name!r} already exists; use --force to replace it or choose another --name"
            )
        training = {OPTION_FIELDS[k][1]: v for k, v in given.items() if OPTION_FIELDS[k][0] == "training"}
        top = {OPTION_FIELDS[k][1]: v for k, v in given.items() if OPTION_FIELDS[k][0] == "spec"}
        train_chars = int(len(corpus) * (1.0 - TrainConfig(**training).val_fraction))
        return SearchSpec(archs=tuple(arch_names), training=training, normalization=corpus.normalization,
                          fingerprint=corpus.fingerprint, sources=corpus.sources, train_chars=train_chars, **top)
    spec_file = folder / SEARCH_FILE
    if not folder.is_dir():
        raise ConfigError(f"nothing to resume: no search named {name!r} in {folder.parent}")
    if not spec_file.is_file():
        raise ConfigError(f"{folder} is not a charlm search (no {SEARCH_FILE}); use --force to start over")
    saved = SearchSpec.from_json(spec_file.read_text(encoding="utf-8"))
    if saved.fingerprint != corpus.fingerprint:
        raise ConfigError(f"cannot resume the search {name!r}: it was started on a different corpus")
    for key, value in given.items():
        if value != option_value(saved, key) and key not in RESUMABLE_CHANGES:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(
                f"the search {name!r} was started with {flag} {option_value(saved, key)}; "
                f"drop {flag} to resume it, or use --force to start over"
            )
    if "max_trials" in given:
        saved = SearchSpec(**{**saved.__dict__, "max_trials": given["max_trials"]})
    return saved


def write_spec(folder: Path, spec: SearchSpec) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{SEARCH_FILE}.tmp"
    tmp.write_text(spec.to_json(), encoding="utf-8")
    os.replace(tmp, folder / SEARCH_FILE)


def worker_spec(name: str) -> SearchSpec:
    """A distributed worker's settings: the ones its chief saved (it waits for them)."""
    from charlm.trainer import tune_distributed

    spec_file = search_dir(name) / SEARCH_FILE
    tune_distributed.wait_for(spec_file)
    return SearchSpec.from_json(spec_file.read_text(encoding="utf-8"))
