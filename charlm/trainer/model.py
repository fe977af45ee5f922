"""Keras model builders: the training model and a step model for the Keras backend.

Layer names are fixed (``embed``, ``rnn_0``..., ``logits``) so weights move
between the training model, the step model, the ``.npz`` store and the numpy
runtime by name. Layer settings stay cuDNN-eligible (default activations, no
recurrent dropout, ``reset_after=True`` for GRU unless asked) so a GPU user
gets the fast kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from charlm.trainer.config import ModelConfig

if TYPE_CHECKING:
    import keras


def _rnn_layer(config: ModelConfig, index: int, **kwargs):
    import keras

    cls = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.arch]
    if config.arch == "gru":
        kwargs["reset_after"] = config.reset_after
    return cls(config.units, name=f"rnn_{index}", **kwargs)


def _embedding(config: ModelConfig, vocab_size: int):
    import keras

    if config.one_hot:
        # One-hot input as a frozen identity embedding: same maths, no Lambda layer.
        return keras.layers.Embedding(
            vocab_size,
            vocab_size,
            embeddings_initializer=keras.initializers.Identity(),
            trainable=False,
            name="embed",
        )
    return keras.layers.Embedding(vocab_size, config.embedding, name="embed")


def build_model(config: ModelConfig, vocab_size: int, *, stateful: bool = False) -> keras.Model:
    """Embedding (or one-hot) -> N recurrent layers with dropout -> Dense logits.

    ``stateful`` fixes the batch size and carries the state across calls
    (stateful training); the weights are the same either way.
    """
    import keras

    if stateful:
        ids = keras.Input(batch_shape=(config.batch_size, None), dtype="int32", name="ids")
    else:
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = _embedding(config, vocab_size)(ids)
    if config.input_dropout > 0:
        # One mask value per time step: a dropped character is hidden entirely.
        x = keras.layers.Dropout(config.input_dropout, noise_shape=(None, None, 1), name="drop_input")(x)
    for i in range(config.layers):
        x = _rnn_layer(config, i, return_sequences=True, stateful=stateful)(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, name=f"drop_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name=f"charlm_{config.arch}")


def build_step_model(config: ModelConfig, vocab_size: int) -> keras.Model:
    """The same network as a one-step function with explicit state in and out."""
    import keras

    ids = keras.Input(shape=(1,), dtype="int32", name="ids")
    n_states = 2 if config.arch == "lstm" else 1
    states_in = [
        keras.Input(shape=(config.units,), name=f"state_{i}_{j}") for i in range(config.layers) for j in range(n_states)
    ]
    x = _embedding(config, vocab_size)(ids)
    states_out = []
    for i in range(config.layers):
        layer = _rnn_layer(config, i, return_sequences=True, return_state=True)
        init = states_in[i * n_states : (i + 1) * n_states]
        x, *new = layer(x, initial_state=init)
        states_out.extend(new)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model([ids, *states_in], [logits, *states_out], name="charlm_step")


def get_named_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Weights keyed ``layer.index`` for every layer that has weights."""
    out: dict[str, np.ndarray] = {}
    for layer in model.layers:
        for i, w in enumerate(layer.get_weights()):
            out[f"{layer.name}.{i}"] = np.asarray(w, dtype=np.float32)
    return out


def set_named_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Inverse of :func:`get_named_weights`; shapes were checked by the store."""
    for layer in model.layers:
        current = layer.get_weights()
        if current:
            layer.set_weights([weights[f"{layer.name}.{i}"] for i in range(len(current))])


def reset_states(model: keras.Model) -> None:
    """Zero the carried state of every recurrent layer (start of an epoch)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
