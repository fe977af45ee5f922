"""The one epoch loop that `fit`, `tune` and `compare` train with.

Everything that decides what a model learns lives here, once: the split and
ids (:func:`prepare`), the Keras model and optimiser (:class:`Trainer`), the
training step, one epoch over shuffled chunks, the exact validation
perplexity, and the learning-rate policy (warm-up, then decay on a plateau).

The training step is a custom loop (``tf.function`` around gradient tape
and ``optimizer.apply``) called through ``strategy.run``, so the same code
runs on one device, on several (``MirroredStrategy``) or on several
machines (``MultiWorkerMirroredStrategy``, where Keras's ``model.fit`` is
broken: keras-team/keras#20585).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from charlm import archs
from charlm.config import ModelConfig
from charlm.data.batching import epoch_batches, skip_epoch, stream_batches
from charlm.data.corpus import Corpus
from charlm.data.split import split_corpus
from charlm.data.vocab import Vocabulary
from charlm.engine.scoring import prime_id, score_text
from charlm.trainer.distribute import Cluster


@dataclass(frozen=True)
class Prepared:
    """A corpus made ready for training: vocabulary and the split's ids (small unsigned ints,
    the only copy of the text a run keeps)."""

    vocab: Vocabulary
    train_ids: np.ndarray
    val_ids: np.ndarray
    prime: int  # what the validation text is conditioned on (the document separator)
    split_by: str  # "documents" or "characters"


def prepare(corpus: Corpus, config: ModelConfig, vocab: Vocabulary | None = None) -> Prepared:
    """The split and ids exactly as every training run makes them.

    Raises:
        CorpusError: the corpus is too short for the configuration.
    """
    t = config.training
    vocab = vocab or Vocabulary.from_text(corpus.text)
    min_train = t.seq_length * (t.batch_size if t.stateful else 1) + 1
    split = split_corpus(corpus, t.val_fraction, min_train_chars=min_train)
    return Prepared(vocab, vocab.encode(split.train).ids, vocab.encode(split.val).ids,
                    prime_id(vocab, corpus.separator), split.by)


def make_batches(config: ModelConfig, train_ids: np.ndarray, rng: np.random.Generator, replicas: int = 1):
    """One epoch of (inputs, targets) global batches (``replicas * batch_size`` rows, each
    replica trains on its own rows): shuffled chunks, or streams when stateful."""
    t = config.training
    make = stream_batches if t.stateful else epoch_batches
    return make(train_ids, t.seq_length, t.batch_size * replicas, rng)


def validation_perplexity(config: ModelConfig, weights: dict[str, np.ndarray], data: Prepared) -> float:
    """Exact perplexity of the held-out ids under ``weights``, by the numpy runtime generation uses."""
    runtime = archs.of(config.arch).runtime(config.arch, weights)
    ppl = score_text(runtime, data.val_ids, data.prime).perplexity
    return ppl if math.isfinite(ppl) else math.nan


@dataclass(frozen=True)
class EpochResult:
    loss: float  # mean training loss of the batches run
    val_perplexity: float
    weights: dict[str, np.ndarray]
    seconds: float
    batches: int
    chars: int  # training characters (targets) seen
    complete: bool  # False when a deadline cut the epoch short


class Trainer:
    """A compiled model, its optimiser and training step, for one ModelConfig.

    Args:
        config: the model's configuration.
        vocab_size: output classes.
        cluster: where to train (:func:`charlm.trainer.distribute.make_cluster`); None: one device.
    """

    def __init__(self, config: ModelConfig, vocab_size: int, cluster: Cluster | None = None):
        from charlm.tf_quiet import quiet_tensorflow

        quiet_tensorflow()
        import keras
        import tensorflow as tf

        self.config = config
        self.vocab_size = vocab_size
        self.cluster = cluster or Cluster(tf.distribute.get_strategy())
        self.strategy = self.cluster.strategy
        t = config.training
        keras.utils.set_random_seed(t.seed)
        arch = archs.of(config.arch)
        with self.cluster.guard(), self.strategy.scope():  # building broadcasts the initial weights
            self.model = arch.build_keras(config.arch, vocab_size,
                                          stateful_batch=t.batch_size if t.stateful else None)
            self.optimizer = _optimizer(config)
            self.optimizer.build(self.model.trainable_variables)
        self.base_lr = t.learning_rate
        self._scale = 1.0  # plateau decay multiplies the base learning rate
        self._horizon: tuple[float, float | None, int | None] | None = None
        self.steps = 0
        self._step = self._compile_step()

    @property
    def replicas(self) -> int:
        return self.cluster.replicas

    @property
    def global_batch(self) -> int:
        """Rows of one step over all replicas (``--batch-size`` is per replica)."""
        return self.config.training.batch_size * self.replicas

    # -- the step ------------------------------------------------------------------------
    def _compile_step(self) -> Callable:
        """The training step: replica r takes rows ``r*B .. (r+1)*B`` of the global batch of N*B rows,
        the mean loss's gradients are summed over replicas (each loss is divided by the
        replica count), clipped per tensor as Keras's ``clipnorm`` does, then applied.

        Gradients are all-reduced here, before clipping, so a run on N replicas with
        batch B computes exactly the update of one replica with batch N*B; the
        optimiser then receives each replica's share (the global gradient / N), which
        its own all-reduce sums back to the global gradient.
        """
        import tensorflow as tf

        model, optimizer = self.model, self.optimizer
        replicas = self.replicas
        clipnorm = self.config.training.clipnorm

        def replica_step(x, y):
            ctx = tf.distribute.get_replica_context()
            rows = tf.shape(x)[0] // replicas  # a lone partial batch is shared out equally
            start = ctx.replica_id_in_sync_group * rows
            x, y = x[start : start + rows], y[start : start + rows]
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(y, tf.int32),
                                                                           logits=logits)
                loss = tf.reduce_mean(per_token)
                share = loss / replicas  # summed over replicas below: the global mean's gradient
            pairs = [(g, v) for g, v in zip(tape.gradient(share, model.trainable_variables),
                                            model.trainable_variables, strict=True) if g is not None]
            # Embedding gradients come as IndexedSlices: dense is cheap for a character vocabulary.
            grads, variables = [tf.convert_to_tensor(g) for g, _ in pairs], [v for _, v in pairs]
            if replicas > 1:
                grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            if clipnorm:
                grads = [tf.clip_by_norm(g, clipnorm) for g in grads]
            if replicas > 1:
                grads = [g / replicas for g in grads]
            optimizer.apply(grads, variables)
            return loss

        @tf.function(reduce_retracing=True)
        def step(x, y):
            losses = self.strategy.run(replica_step, args=(x, y))
            return self.strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)

        return step

    def train_batch(self, x: np.ndarray, y: np.ndarray):
        """One optimisation step on a global batch (``replicas * batch_size`` rows); returns
        the mean loss as a tensor (read it only when needed)."""
        self._apply_schedule()
        self.steps += 1
        with self.cluster.guard():
            return self._step(x, y)

    def set_horizon(self, seconds: float | None, steps: int | None) -> None:
        """Where training ends, for the cosine schedule: ``seconds`` from now (a time budget), else
        after ``steps`` steps (counted from the first step of this run)."""
        self._horizon = (time.monotonic(), seconds, steps)
        self._first = self.steps

    def progress(self) -> float:
        """How far through its horizon the run is, 0 to 1 (the chief's figure on every worker)."""
        if self._horizon is None:
            return 0.0
        start, seconds, steps = self._horizon
        if seconds:
            done = (time.monotonic() - start) / seconds
            if self.cluster.workers > 1:  # clocks differ: every worker follows the chief's
                done = float(self.cluster.agree([done])[0])
        else:
            done = (self.steps - self._first) / steps if steps else 0.0
        return min(1.0, max(0.0, done))

    def _apply_schedule(self) -> None:
        """Warm-up, then the plateau scale or the cosine annealing to a tenth (nanoGPT's ``min_lr``)."""
        t = self.config.training
        warming = t.warmup and self.steps < t.warmup
        if t.schedule != "cosine" and not warming and self.steps != t.warmup:
            return  # the plateau rate is set when it changes (decay, resume)
        lr = self.base_lr * self._scale
        if t.schedule == "cosine":
            lr = lr * (0.1 + 0.45 * (1.0 + math.cos(math.pi * self.progress())))
        if warming:
            lr *= (self.steps + 1) / t.warmup
        self.optimizer.learning_rate.assign(lr)

    # -- weights and learning rate ---------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        return float(np.asarray(self.optimizer.learning_rate.numpy()))

    def decay(self) -> None:
        """An epoch without improvement: multiply the learning rate by ``lr_decay``."""
        self.set_lr_scale(self._scale * self.config.training.lr_decay)

    def set_lr_scale(self, scale: float) -> None:
        self._scale = scale
        self.optimizer.learning_rate.assign(self.base_lr * scale)

    def weights(self) -> dict[str, np.ndarray]:
        """The weights to validate and keep: the moving average when ``ema`` is on."""
        if not self.config.training.ema:
            return archs.base.get_named_weights(self.model)
        raw = self.model.get_weights()
        self.optimizer.finalize_variable_values(self.model.trainable_variables)
        averaged = archs.base.get_named_weights(self.model)
        self.model.set_weights(raw)
        return averaged

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        archs.base.set_named_weights(self.model, weights)

    def reset_states(self) -> None:
        """Zero the carried state of every stateful layer (start of an epoch)."""
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    # -- one epoch ---------------------------------------------------------------------------
    def epoch_steps(self, data: Prepared, rng: np.random.Generator, *,
                    deadline: float | None = None) -> Generator[tuple[int, int, float], None, EpochResult]:
        """Train one epoch of shuffled chunks, then validate exactly.

        A generator, so a caller can report progress and a Ctrl-C thrown into
        it lands between two steps: yields ``(batch, batches, mean loss so far)``
        after every step and returns the :class:`EpochResult`.

        Args:
            data: the prepared corpus.
            rng: the run's generator (epoch k draws what every run's epoch k draws).
            deadline: a ``time.monotonic()`` value; the epoch ends after the step that passes it.
        """
        started = time.perf_counter()
        batches = make_batches(self.config, data.train_ids, rng, self.replicas)
        self.reset_states()
        total, done, complete = 0.0, 0, True
        for b, (x, y) in enumerate(batches, 1):
            total += float(self.train_batch(x, y))
            done = b
            yield b, len(batches), total / b
            if deadline is not None and b < len(batches) and self.past(deadline):
                complete = False
                break
        weights = self.weights()
        # The chief validates; every worker continues with its number (one collective).
        val_ppl = validation_perplexity(self.config, weights, data) if self.cluster.is_chief else 0.0
        val_ppl = float(self.cluster.agree([val_ppl])[0])
        chars = sum(int(y.size) for _, y in batches[:done])
        return EpochResult(total / max(done, 1), val_ppl, weights, time.perf_counter() - started, done, chars,
                           complete)

    def past(self, deadline: float) -> bool:
        """Whether the chief's clock has passed ``deadline`` (the same answer on every worker)."""
        late = time.monotonic() >= deadline
        return bool(self.cluster.agree([float(late)])[0]) if self.cluster.workers > 1 else late

    def epoch(self, data: Prepared, rng: np.random.Generator, *, deadline: float | None = None) -> EpochResult:
        """:meth:`epoch_steps` run to its end."""
        steps = self.epoch_steps(data, rng, deadline=deadline)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value


def skip_epochs(config: ModelConfig, data: Prepared, rng: np.random.Generator, epochs: int,
                replicas: int = 1) -> None:
    """Draw what ``epochs`` epochs draw from ``rng`` without training (or making batches), so a
    resumed run's epoch k gets the batches an uninterrupted run's epoch k would have."""
    t = config.training
    for _ in range(epochs):
        skip_epoch(len(data.train_ids), t.seq_length, t.batch_size * replicas, rng, stateful=t.stateful)


def _optimizer(config: ModelConfig):
    import keras

    t = config.training
    # Clipping is done by the training step, on the gradient summed over replicas.
    common = dict(learning_rate=t.learning_rate, use_ema=t.ema > 0, ema_momentum=t.ema or 0.99)
    if t.optimizer == "adam":
        return keras.optimizers.Adam(**common)
    if t.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(weight_decay=t.weight_decay, beta_2=0.99, **common)
        # Decay the matrices only, as nanoGPT does: not biases nor LayerNorm scales and shifts.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer
    return keras.optimizers.RMSprop(**common)
