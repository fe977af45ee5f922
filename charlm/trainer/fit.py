"""The training loop: many-to-many batches, exact validation perplexity, early stopping.

``fit`` is a generator of events (start, batch, epoch, finished) that the CLI
renders; it prints nothing. Ctrl-C (a KeyboardInterrupt raised inside it or
thrown into it with ``generator.throw``) saves the best weights so far,
marked ``interrupted``; ``resume=True`` continues such a model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

import charlm
from charlm import store
from charlm.data.corpus import Corpus
from charlm.data.split import split_corpus
from charlm.data.vocab import Vocabulary
from charlm.engine.scoring import prime_id
from charlm.errors import ConfigError, CorruptModelError, ModelNotFoundError
from charlm.layout import count_params
from charlm.store import CorpusInfo, EpochRecord, ModelRecord
from charlm.trainer.config import ModelConfig
from charlm.trainer.loop import compile_model, epoch_weights, make_batches, validation_perplexity


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


@dataclass(frozen=True)
class BatchEnd:
    epoch: int
    batch: int
    batches: int
    loss: float


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    loss: float
    val_perplexity: float
    best_perplexity: float
    best_epoch: int
    seconds: float
    improved: bool


@dataclass(frozen=True)
class FitFinished:
    """``reason``: early-stop, max-epochs, interrupted or cached. ``record`` is None only
    when interrupted before the first epoch ended (nothing was saved)."""

    record: ModelRecord | None
    reason: str
    train_seconds: float


FitEvent = FitStarted | BatchEnd | EpochEnd | FitFinished


def unigram_perplexity(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """A baseline any model must beat: add-one unigram frequencies of training text."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(math.exp(-logp[val_ids].mean()))


def _stalled_epochs(history: list[EpochRecord]) -> int:
    """Epochs that did not improve on the best so far (each one decayed the learning rate)."""
    best, stalled = math.inf, 0
    for e in history:
        if e.val_perplexity < best:
            best = e.val_perplexity
        else:
            stalled += 1
    return stalled


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "charlm": charlm.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def _existing(name: str, corpus: Corpus, config: ModelConfig, force: bool, resume: bool) -> ModelRecord | None:
    """The stored model to reuse or resume, or None to train from scratch."""
    try:
        rec = store.load_record(name)
    except ModelNotFoundError:
        if resume:
            raise ConfigError(f"nothing to resume: no model named {name!r}") from None
        return None
    except CorruptModelError:
        if force:
            return None
        raise
    same_corpus = rec.corpus.fingerprint == corpus.fingerprint
    if resume:
        if not same_corpus:
            raise ConfigError(f"cannot resume {name!r}: it was trained on a different corpus")
        return rec
    if force:
        return None
    if same_corpus and rec.config == config and not rec.interrupted:
        return rec
    why = (
        "was interrupted (use --resume to continue it)"
        if rec.interrupted and same_corpus
        else ("was trained on another corpus or with other options")
    )
    raise ConfigError(
        f"a model named {name!r} already exists and {why}; use --force to replace it or choose another --name"
    )


def fit(
    corpus: Corpus,
    config: ModelConfig,
    name: str,
    *,
    force: bool = False,
    resume: bool = False,
) -> Iterator[FitEvent]:
    """Train (or reuse, or resume) the model ``name`` on ``corpus``; yields progress events.

    Raises:
        CorpusError: the corpus is too short for the configuration.
        ConfigError, InvalidNameError: bad options or a name clash.
    """
    store.validate_name(name)
    previous = _existing(name, corpus, config, force, resume)
    if previous is not None and not resume:
        yield FitFinished(previous, "cached", 0.0)
        return
    if previous is not None:
        config = previous.config
        if not previous.interrupted:
            yield FitFinished(previous, "cached", 0.0)
            return
    if corpus.normalization != config.normalization:
        raise ConfigError("the corpus was loaded with a normalisation that differs from the config")

    vocab = previous.vocabulary if previous else Vocabulary.from_text(corpus.text)
    min_train = config.seq_length * (config.batch_size if config.stateful else 1) + 1
    split = split_corpus(corpus, config.val_fraction, min_train_chars=min_train)
    train_ids = vocab.encode(split.train).ids
    val_ids = vocab.encode(split.val).ids

    from charlm.trainer.model import reset_states, set_named_weights

    rng = np.random.default_rng(config.seed)
    model = compile_model(config, len(vocab))
    optimizer = model.optimizer

    history: list[EpochRecord] = list(previous.history) if previous else []
    best_weights: dict[str, np.ndarray] | None = None
    best_ppl, best_epoch = math.inf, 0
    train_seconds = previous.train_seconds if previous else 0.0
    if previous:
        best_weights = store.load_weights(previous)
        set_named_weights(model, best_weights)
        best_ppl, best_epoch = previous.val_perplexity, previous.best_epoch
        optimizer.learning_rate.assign(config.learning_rate * config.lr_decay ** _stalled_epochs(history))
    corpus_info = CorpusInfo(
        fingerprint=corpus.fingerprint,
        sources=corpus.sources,
        chars=len(corpus.text),
        documents=len(corpus.documents),
        train_chars=len(split.train),
        val_chars=len(split.val),
        split_by=split.by,
        separator=corpus.separator,
    )

    def record(status: str) -> ModelRecord:
        return ModelRecord(
            config=config,
            vocabulary=vocab,
            corpus=corpus_info,
            val_perplexity=best_ppl,
            best_epoch=best_epoch,
            history=tuple(history),
            train_seconds=round(train_seconds, 3),
            status=status,
            versions=_versions(),
        )

    first_epoch = len(history) + 1
    n_batches = len(make_batches(config, train_ids, np.random.default_rng(0)))
    yield FitStarted(
        name,
        config,
        count_params(config, len(vocab)),
        len(vocab),
        len(split.train),
        len(split.val),
        split.by,
        n_batches,
        first_epoch,
        unigram_perplexity(train_ids, val_ids, len(vocab)),
    )
    reason = "max-epochs"
    try:
        for epoch in range(first_epoch, config.max_epochs + 1):
            started = time.perf_counter()
            batches = make_batches(config, train_ids, rng)
            reset_states(model)
            total = 0.0
            for b, (x, y) in enumerate(batches, 1):
                loss = float(np.asarray(model.train_on_batch(x, y)).reshape(-1)[0])
                total += loss
                yield BatchEnd(epoch, b, len(batches), total / b)
            weights = epoch_weights(model, config)
            val_ppl = validation_perplexity(config, weights, val_ids, prime_id(vocab, corpus.separator))
            seconds = time.perf_counter() - started
            train_seconds += seconds
            improved = val_ppl < best_ppl
            if improved:
                best_ppl, best_epoch, best_weights = val_ppl, epoch, weights
            elif config.lr_decay < 1.0:
                optimizer.learning_rate.assign(float(optimizer.learning_rate) * config.lr_decay)
            history.append(EpochRecord(epoch, round(total / len(batches), 6), round(val_ppl, 6), round(seconds, 3)))
            yield EpochEnd(epoch, total / len(batches), val_ppl, best_ppl, best_epoch, seconds, improved)
            if not math.isfinite(val_ppl):
                reason = "diverged"
                break
            if epoch - best_epoch >= config.patience and config.patience > 0:
                reason = "early-stop"
                break
    except KeyboardInterrupt:
        if best_weights is None:
            yield FitFinished(None, "interrupted", train_seconds)
            return
        saved = store.save_model(name, record("interrupted"), best_weights)
        yield FitFinished(saved, "interrupted", train_seconds)
        return
    if best_weights is None:
        raise ConfigError("training diverged before the first epoch ended; try a lower --lr")
    saved = store.save_model(name, record("complete"), best_weights)
    yield FitFinished(saved, reason, train_seconds)
