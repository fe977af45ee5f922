"""The pieces of a training epoch that `fit` and `tune` share, so both train and
validate exactly the same way (same seed, same batches, same exact perplexity)."""

from __future__ import annotations

import math

import numpy as np

from charlm.data.batching import epoch_batches, stream_batches
from charlm.trainer.config import ModelConfig


def compile_model(config: ModelConfig, vocab_size: int):
    """The training model of ``config``, seeded, with its optimizer and loss."""
    import keras

    from charlm.trainer.model import build_model

    keras.utils.set_random_seed(config.seed)
    model = build_model(config, vocab_size, stateful=config.stateful)
    opt_cls = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}[config.optimizer]
    optimizer = opt_cls(
        learning_rate=config.learning_rate,
        clipnorm=config.clipnorm or None,
        use_ema=config.ema > 0,
        ema_momentum=config.ema or 0.99,
    )
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def make_batches(config: ModelConfig, train_ids: np.ndarray, rng: np.random.Generator):
    """One epoch of (inputs, targets) batches: shuffled chunks, or streams when stateful."""
    make = stream_batches if config.stateful else epoch_batches
    return make(train_ids, config.seq_length, config.batch_size, rng)


def epoch_weights(model, config: ModelConfig) -> dict[str, np.ndarray]:
    """The weights to validate and keep: the moving average when ``ema`` is on."""
    from charlm.trainer.model import get_named_weights

    if not config.ema:
        return get_named_weights(model)
    raw = model.get_weights()
    model.optimizer.finalize_variable_values(model.trainable_variables)
    averaged = get_named_weights(model)
    model.set_weights(raw)
    return averaged


def validation_perplexity(config: ModelConfig, weights: dict[str, np.ndarray], val_ids: np.ndarray,
                          prime: int) -> float:
    """Exact perplexity of the held-out ids under ``weights`` (the numpy runtime, as generation uses)."""
    from charlm.engine.runtime import NumpyRuntime
    from charlm.engine.scoring import score_ids

    ppl = score_ids(NumpyRuntime(config, weights), val_ids, prime).perplexity
    return ppl if math.isfinite(ppl) else math.nan
