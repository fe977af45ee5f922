"""Hyper-parameter search with keras-tuner's Hyperband, judged by exact validation perplexity.

The space is the seed study's (architecture, units 64-256 step 64, dropout
0-0.3 step 0.1, learning rate 1e-2/1e-3/1e-4) plus 1 or 2 layers; every other
option is the ``ModelConfig`` default, so ``fit`` can train the winner.

Why a custom ``HyperModel.fit``: ``exp(loss)`` is not perplexity (DESIGN.md).
Each trial trains on ``fit``'s batches and reports per epoch the number ``fit``
records (``score_ids`` of the numpy runtime over the held-out ids, primed with
the document separator); keras-tuner's callbacks get it in ``logs``, so
Hyperband checkpoints the best epoch and continues promoted trials from it.

The tuner state lives in ``store.home() / "tuning" / <name>`` with a
``charlm-search.json`` naming corpus and settings, so a search stopped by
Ctrl-C resumes: finished trials are kept, the interrupted one is re-run.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from charlm import store
from charlm.data.corpus import Corpus
from charlm.errors import ConfigError, MissingExtraError
from charlm.trainer import loop
from charlm.trainer.config import ARCHS, ModelConfig
from charlm.trainer.loop import compile_model, make_batches

INSTALL_HINT = "pip install 'charlm[tune]'"
SEARCH_FILE = "charlm-search.json"
OBJECTIVE = "val_perplexity"
UNITS = (64, 256, 64)  # min, max, step
LAYERS = (1, 2)
DROPOUT = (0.0, 0.3, 0.1)
LEARNING_RATES = (1e-2, 1e-3, 1e-4)
#: What ``--resume`` may change; every other setting must match the saved search.
RESUMABLE_CHANGES = ("max_trials",)


def require_keras_tuner():
    """The keras_tuner module; raises MissingExtraError (a one-line error naming the extra) without it."""
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

    ``base`` gives everything the search does not vary, and its ``max_epochs``
    and ``patience`` are the budget of the final ``fit`` of the winner.
    """

    base: ModelConfig = field(default_factory=ModelConfig)
    max_epochs: int = 10  # Hyperband's budget for one trial
    max_trials: int | None = None  # None: as many as Hyperband schedules
    factor: int = 3
    fingerprint: str = ""
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.max_epochs <= 1000 or not 1 <= (self.max_trials or 1) <= 10_000 or self.factor < 2:
            raise ConfigError(
                f"max-epochs must be in 1-1000 and max-trials in 1-10000 (got {self.max_epochs}, {self.max_trials})"
            )

    def to_json(self) -> str:
        data = {**self.__dict__, "format": 1, "base": self.base.to_dict(), "sources": list(self.sources)}
        return json.dumps(data, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SearchSpec:
        try:
            data = json.loads(text)
            if data.pop("format", None) != 1:
                raise ValueError("unknown format")
            return cls(**{**data, "base": ModelConfig.from_dict(data["base"]), "sources": tuple(data["sources"])})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{SEARCH_FILE} is malformed ({exc})") from None


def config_from_values(values: Mapping[str, Any], base: ModelConfig) -> ModelConfig:
    """The ModelConfig a trial's hyper-parameter values stand for."""
    return base.replace(
        arch=str(values["arch"]),
        units=int(values["units"]),
        layers=int(values["layers"]),
        dropout=round(float(values["dropout"]), 6),
        learning_rate=float(values["lr"]),
    )


def declare_space(hp) -> dict[str, Any]:
    """Declare the search space on a ``kt.HyperParameters``; returns this trial's values."""
    return {
        "arch": hp.Choice("arch", list(ARCHS)),
        "units": hp.Int("units", UNITS[0], UNITS[1], step=UNITS[2]),
        "layers": hp.Int("layers", LAYERS[0], LAYERS[1]),
        "dropout": hp.Float("dropout", DROPOUT[0], DROPOUT[1], step=DROPOUT[2]),
        "lr": hp.Choice("lr", list(LEARNING_RATES)),
    }


@dataclass(frozen=True)
class SearchStarted:
    name: str
    folder: Path
    spec: SearchSpec
    resumed: bool
    completed_trials: int
    train_chars: int
    val_chars: int


@dataclass(frozen=True)
class TrialStarted:
    trial_id: str
    config: ModelConfig
    epochs: int  # Hyperband's target epoch for this trial
    initial_epoch: int  # > 0: continues a promoted trial's best checkpoint


@dataclass(frozen=True)
class TrialEpoch:
    trial_id: str
    epoch: int  # 1-based
    loss: float
    val_perplexity: float
    seconds: float


@dataclass(frozen=True)
class TrialEnded:
    trial_id: str
    status: str  # keras-tuner's: COMPLETED, FAILED, INVALID
    val_perplexity: float | None
    best_perplexity: float | None


@dataclass(frozen=True)
class TrialSummary:
    trial_id: str
    status: str
    val_perplexity: float | None
    values: dict[str, Any]
    epochs: int


@dataclass(frozen=True)
class SearchFinished:
    best: ModelConfig
    best_perplexity: float
    best_trial: str
    trials: tuple[TrialSummary, ...]
    seconds: float


TuneEvent = SearchStarted | TrialStarted | TrialEpoch | TrialEnded


#: Command-line option -> (where it lives, field). "spec": SearchSpec, "base": its ModelConfig.
OPTION_FIELDS = {
    "max_epochs": ("spec", "max_epochs"),
    "max_trials": ("spec", "max_trials"),
    "seed": ("base", "seed"),
    "seq_length": ("base", "seq_length"),
    "batch_size": ("base", "batch_size"),
    "epochs": ("base", "max_epochs"),
    "patience": ("base", "patience"),
}


def _value(spec: SearchSpec, key: str) -> Any:
    where, attr = OPTION_FIELDS[key]
    return getattr(spec if where == "spec" else spec.base, attr)


def resolve_spec(name: str, corpus: Corpus, options: Mapping[str, Any], *, resume: bool, force: bool) -> SearchSpec:
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
        if not force and name in {r.name for r in store.list_models(include_builtin=False)}:
            raise ConfigError(
                f"a model named {name!r} already exists; use --force to replace it or choose another --name"
            )
        base = ModelConfig().replace(
            **{OPTION_FIELDS[k][1]: v for k, v in given.items() if OPTION_FIELDS[k][0] == "base"}
        )
        top = {OPTION_FIELDS[k][1]: v for k, v in given.items() if OPTION_FIELDS[k][0] == "spec"}
        return SearchSpec(base=base, fingerprint=corpus.fingerprint, sources=corpus.sources, **top)
    spec_file = folder / SEARCH_FILE
    if not folder.is_dir():
        raise ConfigError(f"nothing to resume: no search named {name!r} in {folder.parent}")
    if not spec_file.is_file():
        raise ConfigError(f"{folder} is not a charlm search (no {SEARCH_FILE}); use --force to start over")
    saved = SearchSpec.from_json(spec_file.read_text(encoding="utf-8"))
    if saved.fingerprint != corpus.fingerprint:
        raise ConfigError(f"cannot resume the search {name!r}: it was started on a different corpus")
    for key, value in given.items():
        if value != _value(saved, key) and key not in RESUMABLE_CHANGES:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(
                f"the search {name!r} was started with {flag} {_value(saved, key)}; "
                f"drop {flag} to resume it, or use --force to start over"
            )
    if "max_trials" in given:
        saved = SearchSpec(**{**saved.__dict__, "max_trials": given["max_trials"]})
    return saved


def _write_spec(folder: Path, spec: SearchSpec) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{SEARCH_FILE}.tmp"
    tmp.write_text(spec.to_json(), encoding="utf-8")
    os.replace(tmp, folder / SEARCH_FILE)


@dataclass(frozen=True)
class _Data:
    train_ids: np.ndarray
    val_ids: np.ndarray
    prime: int
    vocab_size: int


def _prepare_data(corpus: Corpus, base: ModelConfig) -> _Data:
    """The split and ids exactly as ``fit`` makes them."""
    from charlm.data.split import split_corpus
    from charlm.data.vocab import Vocabulary
    from charlm.engine.scoring import prime_id

    vocab = Vocabulary.from_text(corpus.text)
    min_train = base.seq_length * (base.batch_size if base.stateful else 1) + 1
    split = split_corpus(corpus, base.val_fraction, min_train_chars=min_train)
    return _Data(
        vocab.encode(split.train).ids, vocab.encode(split.val).ids, prime_id(vocab, corpus.separator), len(vocab)
    )


def train_epoch(model, config: ModelConfig, train_ids: np.ndarray, rng: np.random.Generator) -> float:
    """One epoch over ``fit``'s batches; returns the mean training loss."""
    from charlm.trainer.model import reset_states

    batches = make_batches(config, train_ids, rng)
    reset_states(model)
    total = sum(float(np.asarray(model.train_on_batch(x, y)).reshape(-1)[0]) for x, y in batches)
    return total / len(batches)


def validation_perplexity(model, config: ModelConfig, data: _Data) -> float:
    """Exact perplexity of the held-out ids, of the weights ``fit`` would keep (NaN becomes inf)."""
    ppl = loop.validation_perplexity(config, loop.epoch_weights(model, config), data.val_ids, data.prime)
    return ppl if math.isfinite(ppl) else math.inf


def _run_trial(model, config, data, trial_id, epochs, initial_epoch, callbacks, report) -> float:
    """Train epochs ``initial_epoch``..``epochs``-1; keras-tuner's callbacks see the exact perplexity."""
    import keras

    hooks = keras.callbacks.CallbackList(list(callbacks), model=model)
    rng = np.random.default_rng(config.seed)  # fit's batches: epoch k draws what fit's epoch k draws
    for _ in range(initial_epoch):
        make_batches(config, data.train_ids, rng)
    best = math.inf
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        started = time.perf_counter()
        hooks.on_epoch_begin(epoch)
        loss = train_epoch(model, config, data.train_ids, rng)
        ppl = validation_perplexity(model, config, data)
        if ppl >= best and config.lr_decay < 1.0:
            model.optimizer.learning_rate.assign(float(model.optimizer.learning_rate) * config.lr_decay)
        best = min(best, ppl)
        hooks.on_epoch_end(epoch, {"loss": loss, OBJECTIVE: ppl})
        report(TrialEpoch(trial_id, epoch + 1, loss, ppl, time.perf_counter() - started))
        if not math.isfinite(ppl):
            break
    hooks.on_train_end()
    return best


def _make_tuner(kt, name: str, spec: SearchSpec, data: _Data, report: Callable[[TuneEvent], None]):
    """A Hyperband tuner over our HyperModel, reporting trials through ``report``."""
    current: dict[str, str] = {}

    class CharHyperModel(kt.HyperModel):
        def build(self, hp):
            return compile_model(config_from_values(declare_space(hp), spec.base), data.vocab_size)

        def fit(self, hp, model, *args, epochs=1, initial_epoch=0, callbacks=(), **kwargs):
            config = config_from_values(hp.values, spec.base)
            return _run_trial(model, config, data, current["id"], epochs, initial_epoch, callbacks, report)

    class CharTuner(kt.Hyperband):
        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            current["id"] = trial.trial_id
            values = trial.hyperparameters.values
            config = config_from_values(values, spec.base)
            report(TrialStarted(trial.trial_id, config, values["tuner/epochs"], values["tuner/initial_epoch"]))

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            best = self.oracle.get_best_trials(1)
            best_score = _score(best[0]) if best and best[0].status == "COMPLETED" else None
            report(TrialEnded(trial.trial_id, trial.status, _score(self.oracle.trials[trial.trial_id]), best_score))

    with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
        tuner = CharTuner(
            CharHyperModel(),
            objective=kt.Objective(OBJECTIVE, direction="min"),
            max_epochs=spec.max_epochs,
            factor=spec.factor,
            seed=spec.base.seed + 1,  # keras-tuner treats 0 as "no seed"
            directory=str(search_dir(name).parent),
            project_name=name,
            overwrite=False,
        )
    tuner.oracle.max_trials = spec.max_trials
    return tuner


def _score(trial) -> float | None:
    return float(trial.score) if trial.score is not None and math.isfinite(trial.score) else None


def _summaries(oracle) -> tuple[TrialSummary, ...]:
    out = []
    for t in (oracle.trials[i] for i in oracle.start_order):
        values = {k: v for k, v in t.hyperparameters.values.items() if not k.startswith("tuner/")}
        out.append(TrialSummary(t.trial_id, t.status, _score(t), values, t.hyperparameters.values["tuner/epochs"]))
    return tuple(out)


def search(
    corpus: Corpus,
    name: str,
    spec: SearchSpec,
    *,
    resume: bool = False,
    force: bool = False,
    report: Callable[[TuneEvent], None] | None = None,
) -> SearchFinished:
    """Run (or resume) the Hyperband search ``name``; return the best configuration found.

    ``spec`` should come from :func:`resolve_spec` (which checks the folder).
    KeyboardInterrupt propagates with the tuner state saved: call again with
    ``resume=True`` to continue. Progress goes to ``report`` (TuneEvents).

    Raises:
        MissingExtraError: keras-tuner is not installed.
        ConfigError: no trial could be completed.
    """
    kt = require_keras_tuner()
    report = report or (lambda _event: None)
    folder = search_dir(name)
    if force and not resume and folder.exists():
        shutil.rmtree(folder)
    data = _prepare_data(corpus, spec.base)
    _write_spec(folder, spec)
    tuner = _make_tuner(kt, name, spec, data, report)
    completed = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    report(SearchStarted(name, folder, spec, resume, completed, len(data.train_ids), len(data.val_ids)))
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():  # keep stdout for our output
        # A promoted trial restarts its optimizer (keras-tuner's Hyperband does too); Keras warns about it.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        tuner.search(verbose=0)
    trials = _summaries(tuner.oracle)
    best = [t for t in tuner.oracle.get_best_trials(1) if t.status == "COMPLETED" and math.isfinite(t.score)]
    if not best:
        failed = [t for t in tuner.oracle.trials.values() if t.message]
        why = failed[-1].message.strip().splitlines()[-1] if failed else "no trial was run"
        raise ConfigError(f"the search found no usable configuration ({why})")
    return SearchFinished(
        config_from_values(best[0].hyperparameters.values, spec.base),
        float(best[0].score),
        best[0].trial_id,
        trials,
        time.perf_counter() - started,
    )


def final_fit(corpus: Corpus, result: SearchFinished, name: str, *, force: bool = False):
    """``fit`` the winning configuration under ``name`` (resuming it if a Ctrl-C stopped it)."""
    from charlm.errors import CorruptModelError, ModelNotFoundError
    from charlm.trainer.fit import fit

    try:
        previous = store.load_record(name)
        resume = not force and previous.interrupted and previous.config == result.best
        resume = resume and previous.corpus.fingerprint == corpus.fingerprint
    except (ModelNotFoundError, CorruptModelError):
        resume = False
    return fit(corpus, result.best, name, force=force, resume=resume)
