"""Training a model: many-to-many batches, exact validation perplexity, early stopping.

``fit`` is a generator of events (start, batch, epoch, finished) that the CLI
renders; it prints nothing. Ctrl-C (a KeyboardInterrupt raised inside it or
thrown into it with ``generator.throw``; the CLI turns SIGTERM and SIGHUP
into one too) saves the best weights so far, marked ``interrupted``;
``resume=True`` continues such a model, or extends a finished one with a
larger budget. The model's name is locked for the whole run, and the store
is checked for writability before any training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

import charlm
from charlm import archs, store
from charlm.config import ModelConfig
from charlm.data.corpus import Corpus
from charlm.errors import ConfigError, CorruptModelError, ModelNotFoundError
from charlm.store import CorpusInfo, EpochRecord, ModelRecord
from charlm.trainer.distribute import Cluster
from charlm.trainer.loop import EpochResult, Trainer, make_batches, prepare, skip_epochs


@dataclass(frozen=True)
class FitStarted:
    name: str
    config: ModelConfig
    params: int
    vocab_size: int
    train_chars: int
    val_chars: int
    split_by: str
    batches: int
    first_epoch: int
    unigram_perplexity: float
    replicas: int = 1


@dataclass(frozen=True)
class BatchEnd:
    epoch: int
    batch: int
    batches: int
    loss: float
    chars_per_second: float = 0.0


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    loss: float
    val_perplexity: float
    best_perplexity: float
    best_epoch: int
    seconds: float
    improved: bool
    learning_rate: float = 0.0
    chars_per_second: float = 0.0


@dataclass(frozen=True)
class FitFinished:
    """``reason``: early-stop, max-epochs, time-limit, diverged, interrupted or cached.
    ``record`` is None when interrupted before the first epoch ended (nothing was saved), and
    on the workers of a multi-worker run other than the chief (only the chief saves; the
    others get the best ``weights`` they trained, the same as the chief's)."""

    record: ModelRecord | None
    reason: str
    train_seconds: float
    weights: dict[str, np.ndarray] | None = None


FitEvent = FitStarted | BatchEnd | EpochEnd | FitFinished


def unigram_perplexity(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """A baseline any model must beat: add-one unigram frequencies of training text."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(math.exp(-logp[val_ids].mean()))


def stalled_epochs(history: tuple[EpochRecord, ...] | list[EpochRecord]) -> int:
    """Epochs that did not improve on the best so far (each one decayed the learning rate)."""
    best, stalled = math.inf, 0
    for e in history:
        if e.val_perplexity < best:
            best = e.val_perplexity
        else:
            stalled += 1
    return stalled


def versions() -> dict[str, str]:
    from charlm.tf_quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import tensorflow as tf

    return {"charlm": charlm.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


def concrete(config: ModelConfig, corpus: Corpus) -> ModelConfig:
    """The config with its automatic settings (batch size) decided for this corpus."""
    train_chars = int(len(corpus) * (1.0 - config.training.val_fraction))
    return config.replace(training=config.training.for_corpus(train_chars))


def existing(name: str, corpus: Corpus, config: ModelConfig, force: bool, resume: bool) -> ModelRecord | None:
    """The stored model to reuse or resume, or None to train from scratch.

    Raises:
        ConfigError: a clash that needs --force, --resume, or another name.
    """
    try:
        rec = store.load_record(name)
    except ModelNotFoundError:
        if resume:
            raise ConfigError(f"nothing to resume: no model named {name!r}") from None
        return None
    except CorruptModelError as exc:
        if force:
            return None
        raise CorruptModelError(f"{exc}; use --force to replace it, or `charlm-train rm {name}`") from None
    same_corpus = rec.corpus.fingerprint == corpus.fingerprint
    if resume:
        if not same_corpus:
            raise ConfigError(f"cannot resume {name!r}: it was trained on a different corpus")
        if not rec.config.same_model(config):
            raise ConfigError(f"cannot resume {name!r} with other options; only --epochs, --patience and "
                              "--time-limit may change (or use --force to start over)")
        return rec
    if force:
        return None
    if same_corpus and rec.config.same_model(config) and not rec.interrupted:
        return rec
    why = ("was interrupted (use --resume to continue it)" if rec.interrupted and same_corpus
           else "was trained on another corpus or with other options")
    raise ConfigError(
        f"a model named {name!r} already exists and {why}; use --force to replace it or choose another --name"
    )


def fit(corpus: Corpus, config: ModelConfig, name: str, *, force: bool = False, resume: bool = False,
        cluster: Cluster | None = None) -> Iterator[FitEvent]:
    """Train (or reuse, or resume) the model ``name`` on ``corpus``; yields progress events.

    ``cluster`` (:func:`charlm.trainer.distribute.make_cluster`) trains on several devices or
    machines; only its chief touches the store, and every worker must be given the same corpus,
    config, name and flags.

    Raises:
        CorpusError: the corpus is too short for the configuration.
        ConfigError, InvalidNameError: bad options or a name clash.
        ModelBusyError: another process is training that name; StoreError: the store is not writable.
        WorkerLostError: a worker of a multi-worker run stopped answering (nothing is saved).
    """
    store.validate_name(name)
    if corpus.normalization != config.normalization:
        raise ConfigError("the corpus was loaded with a normalisation that differs from the config")
    config = concrete(config, corpus)
    if cluster is not None and not cluster.is_chief:
        yield from _worker(corpus, config, name, resume, cluster)
        return
    with store.hold(name):
        previous = existing(name, corpus, config, force, resume)
        if previous is not None and not resume:
            yield FitFinished(previous, "cached", 0.0)
            return
        if previous is not None:
            config = previous.config.replace(training=previous.config.training.replace(
                **{k: getattr(config.training, k) for k in config.training.BUDGET}))
            if len(previous.history) >= config.training.max_epochs:
                yield FitFinished(previous, "cached", 0.0)
                return
        store.ensure_writable()
        yield from _train(corpus, config, name, previous, cluster)


def _worker(corpus: Corpus, config: ModelConfig, name: str, resume: bool, cluster: Cluster) -> Iterator[FitEvent]:
    """A non-chief worker: the same training, reading the store only to resume, never writing."""
    previous = None
    if resume:
        previous = store.load_record(name)
        config = previous.config.replace(training=previous.config.training.replace(
            **{k: getattr(config.training, k) for k in config.training.BUDGET}))
    yield from _train(corpus, config, name, previous, cluster)


def _train(corpus: Corpus, config: ModelConfig, name: str, previous: ModelRecord | None,
           cluster: Cluster | None) -> Iterator[FitEvent]:
    t = config.training
    data = prepare(corpus, config, previous.vocabulary if previous else None)
    vocab = data.vocab
    trainer = Trainer(config, len(vocab), cluster)
    chief = trainer.cluster.is_chief
    rng = np.random.default_rng(t.seed)
    history: list[EpochRecord] = list(previous.history) if previous else []
    best_weights: dict[str, np.ndarray] | None = None
    best_ppl, best_epoch = math.inf, 0
    train_seconds = previous.train_seconds if previous else 0.0
    if previous:
        best_weights = store.load_weights(previous)
        trainer.set_weights(best_weights)
        best_ppl, best_epoch = previous.val_perplexity, previous.best_epoch
        trainer.set_lr_scale(t.lr_decay ** stalled_epochs(history))
        trainer.steps = t.warmup  # warm-up happened in the first run
        skip_epochs(config, data, rng, len(history), trainer.replicas)
    corpus_info = CorpusInfo(
        fingerprint=corpus.fingerprint, sources=corpus.sources, chars=len(corpus.text),
        documents=len(corpus.documents), train_chars=len(data.train_ids), val_chars=len(data.val_ids),
        split_by=data.split_by, separator=corpus.separator,
    )

    def record(status: str, reason: str) -> ModelRecord:
        return ModelRecord(config=config, vocabulary=vocab, corpus=corpus_info, val_perplexity=best_ppl,
                           best_epoch=best_epoch, history=tuple(history), train_seconds=round(train_seconds, 3),
                           status=status, versions=versions(), stop_reason=reason)

    first_epoch = len(history) + 1
    n_batches = len(make_batches(config, data.train_ids, np.random.default_rng(0), trainer.replicas))
    yield FitStarted(name, config, archs.of(config.arch).count_params(config.arch, len(vocab)), len(vocab),
                     len(data.train_ids), len(data.val_ids), data.split_by, n_batches, first_epoch,
                     unigram_perplexity(data.train_ids, data.val_ids, len(vocab)), trainer.replicas)
    reason = "max-epochs"
    deadline = time.monotonic() + t.time_limit if t.time_limit else None
    trainer.set_horizon(t.time_limit or None, (t.max_epochs - first_epoch + 1) * n_batches)
    replicas = trainer.replicas
    try:
        for epoch in range(first_epoch, t.max_epochs + 1):
            started = time.perf_counter()
            steps = trainer.epoch_steps(data, rng, deadline=deadline)
            while True:
                try:
                    b, total, loss = next(steps)
                except StopIteration as stop:
                    res: EpochResult = stop.value
                    break
                rate = b * t.batch_size * t.seq_length * replicas / max(time.perf_counter() - started, 1e-9)
                yield BatchEnd(epoch, b, total, loss, rate)
            train_seconds += res.seconds
            improved = res.val_perplexity < best_ppl
            if improved:
                best_ppl, best_epoch, best_weights = res.val_perplexity, epoch, res.weights
            elif t.lr_decay < 1.0 and t.schedule == "plateau":
                trainer.decay()
            history.append(EpochRecord(epoch, round(res.loss, 6), round(res.val_perplexity, 6), round(res.seconds, 3)))
            yield EpochEnd(epoch, res.loss, res.val_perplexity, best_ppl, best_epoch, res.seconds, improved,
                           trainer.learning_rate, res.chars / max(res.seconds, 1e-9))
            if not math.isfinite(res.val_perplexity):
                reason = "diverged"
                break
            if not res.complete or (deadline is not None and trainer.past(deadline)):
                reason = "time-limit"
                break
            if t.patience > 0 and epoch - best_epoch >= t.patience:
                reason = "early-stop"
                break
    except KeyboardInterrupt:
        if best_weights is None or not chief:
            yield FitFinished(None, "interrupted", train_seconds, best_weights)
            return
        saved = store.save_model(name, record("interrupted", "interrupted"), best_weights)
        yield FitFinished(saved, "interrupted", train_seconds)
        return
    if best_weights is None:
        raise ConfigError("training diverged before the first epoch ended; try a lower --lr")
    if not chief:
        yield FitFinished(None, reason, train_seconds, best_weights)
        return
    saved = store.save_model(name, record("complete", reason), best_weights)
    yield FitFinished(saved, reason, train_seconds)

