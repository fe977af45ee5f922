"""Hyper-parameter search with keras-tuner's Hyperband, judged by exact validation perplexity.

The space is the seed study's (architecture, units 64-256 step 64, dropout
0-0.3 step 0.1, learning rate 1e-2/1e-3/1e-4) plus 1 or 2 layers; each
architecture declares its own part (``Architecture.search_space``, active
only when that architecture is chosen), so the Transformer brings its own.
Every other option is the architecture's training default or what the user
gave, so ``fit`` can train the winner.

Why a custom ``HyperModel.fit``: ``exp(loss)`` is not perplexity (DESIGN.md).
Each trial trains with ``fit``'s epoch loop (:class:`charlm.trainer.loop.Trainer`)
and reports per epoch the number ``fit`` records (the exact perplexity of
the held-out ids); keras-tuner's callbacks get it in ``logs``, so Hyperband
checkpoints the best epoch and continues promoted trials from it.

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

from charlm import archs, store
from charlm.config import ModelConfig, TrainConfig
from charlm.data.corpus import Corpus
from charlm.data.normalize import Normalization
from charlm.errors import ConfigError, MissingExtraError
from charlm.trainer.loop import EpochResult, Prepared, Trainer, make_batches, prepare, skip_epochs

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
        try:
            data = json.loads(text)
            if data.pop("format", None) != 2:
                raise ValueError("unknown format")
            return cls(**{**data, "archs": tuple(data["archs"]), "sources": tuple(data["sources"]),
                          "training": dict(data["training"]),
                          "normalization": Normalization.from_dict(data["normalization"])})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
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


@dataclass(frozen=True)
class SearchStarted:
    name: str
    folder: Path
    spec: SearchSpec
    resumed: bool
    completed_trials: int
    train_chars: int
    val_chars: int
    role: str = ""  # "chief" or "worker" in keras-tuner's distributed mode


@dataclass(frozen=True)
class TrialStarted:
    trial_id: str
    config: ModelConfig
    epochs: int  # Hyperband's target epoch for this trial
    initial_epoch: int  # > 0: continues a promoted trial's best checkpoint
    tuner: str = ""  # in a distributed search: the worker running it


@dataclass(frozen=True)
class TrialEpoch:
    trial_id: str
    epoch: int  # 1-based
    loss: float
    val_perplexity: float
    seconds: float
    learning_rate: float = 0.0
    chars_per_second: float = 0.0


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


def _value(spec: SearchSpec, key: str) -> Any:
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


def train_epoch(trainer: Trainer, data: Prepared, rng: np.random.Generator,
                deadline: float | None = None) -> EpochResult:
    """One epoch of ``fit``'s loop: train, then the exact validation perplexity."""
    return trainer.epoch(data, rng, deadline=deadline)


def _run_trial(trainer: Trainer, data: Prepared, trial_id, epochs, initial_epoch, callbacks, report,
               deadline: float | None = None) -> float:
    """Train epochs ``initial_epoch``..``epochs``-1 (or until ``deadline``); keras-tuner's callbacks see
    the exact perplexity."""
    import keras

    config = trainer.config
    hooks = keras.callbacks.CallbackList(list(callbacks), model=trainer.model)
    rng = np.random.default_rng(config.training.seed)
    skip_epochs(config, data, rng, initial_epoch)  # epoch k draws what fit's epoch k draws
    per_epoch = len(make_batches(config, data.train_ids, np.random.default_rng(0)))
    trainer.set_horizon(None, (epochs - initial_epoch) * per_epoch)
    best = math.inf
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        result = train_epoch(trainer, data, rng, deadline)
        ppl = result.val_perplexity if math.isfinite(result.val_perplexity) else math.inf
        if ppl >= best and config.training.lr_decay < 1.0 and config.training.schedule == "plateau":
            trainer.decay()
        best = min(best, ppl)
        hooks.on_epoch_end(epoch, {"loss": result.loss, OBJECTIVE: ppl})
        report(TrialEpoch(trial_id, epoch + 1, result.loss, ppl, result.seconds, trainer.learning_rate,
                          result.chars / max(result.seconds, 1e-9)))
        if not math.isfinite(ppl) or not result.complete or (deadline and time.monotonic() >= deadline):
            break
    hooks.on_train_end()
    return best


def _make_tuner(kt, name: str, spec: SearchSpec, data: Prepared, report: Callable[[TuneEvent], None],
                deadline: float | None = None):
    """A Hyperband tuner over our HyperModel, reporting trials through ``report``; from ``deadline``
    (``time.monotonic()``) on, trials stop and no new one is scheduled."""
    current: dict[str, str] = {}
    vocab_size = len(data.vocab)

    class CharHyperModel(kt.HyperModel):
        def build(self, hp):
            declare_space(hp, spec.archs)
            trainer = Trainer(config_from_values(hp.values, spec), vocab_size)
            trainer.model.charlm_trainer = trainer  # fit() below trains with it
            return trainer.model

        def fit(self, hp, model, *args, epochs=1, initial_epoch=0, callbacks=(), **kwargs):
            return _run_trial(model.charlm_trainer, data, current["id"], epochs, initial_epoch, callbacks, report,
                              deadline)

    class CharTuner(kt.Hyperband):
        def pre_create_trial(self):
            super().pre_create_trial()
            if deadline is not None and time.monotonic() >= deadline:
                self.oracle.max_trials = len(self.oracle.trials)  # the next request is told to stop

        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            current["id"] = trial.trial_id
            values = trial.hyperparameters.values
            config = config_from_values(values, spec)
            report(TrialStarted(trial.trial_id, config, values["tuner/epochs"], values["tuner/initial_epoch"]))

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            best = self.oracle.get_best_trials(1)
            best_score = score_of(best[0]) if best and best[0].status == "COMPLETED" else None
            # get_trial, not .trials: on a distributed worker the oracle is a client of the chief's.
            report(TrialEnded(trial.trial_id, trial.status, score_of(self.oracle.get_trial(trial.trial_id)),
                              best_score))

    with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
        tuner = CharTuner(
            CharHyperModel(),
            objective=kt.Objective(OBJECTIVE, direction="min"),
            max_epochs=spec.max_epochs,
            factor=spec.factor,
            seed=_value(spec, "seed") + 1,  # keras-tuner treats 0 as "no seed"
            directory=str(search_dir(name).parent),
            project_name=name,
            overwrite=False,
        )
    tuner.oracle.max_trials = spec.max_trials
    return tuner


def score_of(trial) -> float | None:
    return float(trial.score) if trial.score is not None and math.isfinite(trial.score) else None


def _summaries(oracle) -> tuple[TrialSummary, ...]:
    out = []
    for t in (oracle.trials[i] for i in oracle.start_order):
        values = {k: v for k, v in t.hyperparameters.values.items() if not k.startswith("tuner/")}
        out.append(TrialSummary(t.trial_id, t.status, score_of(t), values, t.hyperparameters.values["tuner/epochs"]))
    return tuple(out)


def search(
    corpus: Corpus,
    name: str,
    spec: SearchSpec,
    *,
    resume: bool = False,
    force: bool = False,
    report: Callable[[TuneEvent], None] | None = None,
    time_limit: float | None = None,
) -> SearchFinished | None:
    """Run (or resume, or join) the Hyperband search ``name``; return the best configuration found.

    ``spec`` should come from :func:`resolve_spec` (which checks the folder), or on a
    distributed worker from the chief's saved settings. In keras-tuner's distributed mode
    (:mod:`charlm.trainer.tune_distributed`) the chief serves the oracle and returns the result,
    a worker runs trials and returns None. ``time_limit`` (seconds): no trial starts after it,
    and running ones stop. KeyboardInterrupt propagates with the tuner state saved: call again
    with ``resume=True`` to continue. Progress goes to ``report`` (TuneEvents).

    Raises:
        MissingExtraError: keras-tuner is not installed.
        ConfigError: no trial could be completed.
    """
    from charlm.trainer import tune_distributed

    kt = require_keras_tuner()
    report = report or (lambda _event: None)
    role = tune_distributed.role()
    folder = search_dir(name)
    if role != "worker":
        if force and not resume and folder.exists():
            shutil.rmtree(folder)
        _write_spec(folder, spec)
    data = prepare(corpus, spec.config(archs.get(spec.archs[0]).config()))
    # The chief's budget governs a distributed search: workers finish the trials they are given.
    deadline = time.monotonic() + time_limit if time_limit and role != "worker" else None
    tuner = _make_tuner(kt, name, spec, data, report, deadline)
    completed = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values()) if role != "worker" else 0
    report(SearchStarted(name, folder, spec, resume, completed, len(data.train_ids), len(data.val_ids), role or ""))
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():  # keep stdout for our output
        # A promoted trial restarts its optimizer (keras-tuner's Hyperband does too); Keras warns about it.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        if role == "chief":
            tune_distributed.serve(tuner, spec, report, deadline=deadline)
        elif role == "worker":
            tune_distributed.work(tuner)
        else:
            tuner.search(verbose=0)
    if role == "worker":
        return None
    trials = _summaries(tuner.oracle)
    best = [t for t in tuner.oracle.get_best_trials(1) if t.status == "COMPLETED" and math.isfinite(t.score)]
    if not best:
        failed = [t for t in tuner.oracle.trials.values() if t.message]
        why = failed[-1].message.strip().splitlines()[-1] if failed else "no trial was run"
        raise ConfigError(f"the search found no usable configuration ({why})")
    return SearchFinished(
        config_from_values(best[0].hyperparameters.values, spec),
        float(best[0].score),
        best[0].trial_id,
        trials,
        time.perf_counter() - started,
    )


def worker_spec(name: str) -> SearchSpec:
    """A distributed worker's settings: the ones its chief saved (it waits for them)."""
    from charlm.trainer import tune_distributed

    spec_file = search_dir(name) / SEARCH_FILE
    tune_distributed.wait_for(spec_file)
    return SearchSpec.from_json(spec_file.read_text(encoding="utf-8"))


def final_fit(corpus: Corpus, result: SearchFinished, name: str, *, force: bool = False,
              time_limit: float | None = None):
    """``fit`` the winning configuration under ``name`` (resuming it if a Ctrl-C stopped it),
    for at most ``time_limit`` seconds when given."""
    from charlm.errors import CorruptModelError, ModelNotFoundError
    from charlm.trainer.fit import fit

    try:
        previous = store.load_record(name)
        resume = not force and previous.interrupted and previous.config.same_model(result.best)
        resume = resume and previous.corpus.fingerprint == corpus.fingerprint
    except (ModelNotFoundError, CorruptModelError):
        resume = False
    config = result.best
    if time_limit:
        config = config.replace(training=config.training.replace(time_limit=max(1.0, time_limit)))
    return fit(corpus, config, name, force=force, resume=resume)
