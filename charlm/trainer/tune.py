"""Hyper-parameter search with keras-tuner's Hyperband, judged by exact validation perplexity.

What is searched, and the settings a search saves, are in :mod:`charlm.trainer.search_spec`.

Why a custom ``HyperModel.fit``: ``exp(loss)`` is not perplexity (DESIGN.md).
Each trial trains with ``fit``'s epoch loop (:class:`charlm.trainer.loop.Trainer`)
and reports per epoch the number ``fit`` records (the exact perplexity of
the held-out ids); keras-tuner's callbacks get it in ``logs``, so Hyperband
checkpoints the best epoch and continues promoted trials from it.

The tuner state lives in ``store.home() / "tuning" / <name>`` beside the
search's settings, so a search stopped by Ctrl-C resumes: finished trials are
kept, the interrupted one is re-run.
"""

from __future__ import annotations

import contextlib
import io
import math
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from charlm import archs, store
from charlm.config import ModelConfig
from charlm.data.corpus import Corpus
from charlm.errors import ConfigError
from charlm.trainer.loop import EpochResult, Prepared, Trainer, make_batches, prepare, skip_epochs
from charlm.trainer.search_spec import (
    OBJECTIVE,
    SearchSpec,
    config_from_values,
    declare_space,
    option_value,
    require_keras_tuner,
    search_dir,
    write_spec,
)


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
            seed=option_value(spec, "seed") + 1,  # keras-tuner treats 0 as "no seed"
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
        write_spec(folder, spec)
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
