"""The Transformer in Keras: the training model and a reference step runtime.

Imported only when a Transformer is trained or checked against Keras (it
imports Keras at module level; :mod:`charlm.archs.transformer` imports it
lazily). Every layer with weights is a top-level layer of a functional model
with a fixed name (``embed``, ``pos``, ``block0_ln1``, ``block0_attn_qkv``
...), so weights move by name (:func:`charlm.archs.base.get_named_weights`).
The two custom layers are small: ``Positions`` (learned table or fixed
sinusoids, sliced to the input's length) and the weight-less
``CausalSelfAttention``. Models are never deserialised from files, so the
custom classes need no registration.

Initialisation follows nanoGPT: normal(0, 0.02) for embeddings and kernels,
normal(0, 0.02 / sqrt(2 x layers)) for the two projections that end a
residual branch, zero biases.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import keras
import numpy as np
from keras import ops

from charlm.archs.base import State, StepwiseReference, log_softmax, set_named_weights
from charlm.archs.transformer import LN_EPSILON, Transformer, TransformerConfig, by_length, sinusoid_table, slide


class Positions(keras.layers.Layer):
    """Adds position vectors ``0 .. T-1`` to a (batch, T, width) input, T <= block size."""

    def __init__(self, block_size: int, width: int, learned: bool, **kwargs):
        super().__init__(**kwargs)
        self.block_size, self.width, self.learned = block_size, width, learned
        self._fixed = None if learned else sinusoid_table(block_size, width)

    def build(self, input_shape) -> None:
        if self.learned:
            self.table = self.add_weight(shape=(self.block_size, self.width), name="embeddings",
                                         initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, x):
        t = ops.shape(x)[1]
        table = self.table if self.learned else ops.convert_to_tensor(self._fixed, dtype=x.dtype)
        return x + ops.expand_dims(table[:t], 0)


class CausalSelfAttention(keras.layers.Layer):
    """Multi-head causal attention of a fused (batch, T, 3 x width) query/key/value input.

    Heads are contiguous column slices of each third, as nanoGPT splits them.
    """

    def __init__(self, heads: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads
        self.drop = keras.layers.Dropout(dropout) if dropout > 0 else None

    def call(self, qkv, training=None):
        t = ops.shape(qkv)[1]
        width = qkv.shape[-1] // 3
        head_width = width // self.heads

        def split_heads(x):
            return ops.transpose(ops.reshape(x, (-1, t, self.heads, head_width)), (0, 2, 1, 3))

        q, k, v = (split_heads(part) for part in ops.split(qkv, 3, axis=-1))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (1.0 / math.sqrt(head_width))
        pos = ops.arange(t)
        scores = ops.where(pos[:, None] >= pos[None, :], scores, -1e9)
        probs = ops.softmax(scores, axis=-1)
        if self.drop is not None:
            probs = self.drop(probs, training=training)
        out = ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3))
        return ops.reshape(out, (-1, t, width))


def _gelu(x):
    return keras.activations.gelu(x, approximate=True)


def _normal(stddev: float):
    return keras.initializers.RandomNormal(stddev=stddev)


def build_model(config: TransformerConfig, vocab_size: int) -> keras.Model:
    """int ids (batch, T <= block size) -> logits (batch, T, vocab)."""
    d, rate = config.embedding, config.dropout
    residual_std = 0.02 / math.sqrt(2 * config.layers)

    def dropout(x, name: str):
        return keras.layers.Dropout(rate, name=name)(x) if rate > 0 else x

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, d, embeddings_initializer=_normal(0.02), name="embed")(ids)
    x = Positions(config.block_size, d, config.positions == "learned", name="pos")(x)
    x = dropout(x, "drop_embed")
    for i in range(config.layers):
        b = f"block{i}_"
        h = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{b}ln1")(x)
        h = keras.layers.Dense(3 * d, kernel_initializer=_normal(0.02), name=f"{b}attn_qkv")(h)
        h = CausalSelfAttention(config.heads, rate, name=f"{b}attn")(h)
        h = keras.layers.Dense(d, kernel_initializer=_normal(residual_std), name=f"{b}attn_proj")(h)
        x = keras.layers.Add(name=f"{b}add1")([x, dropout(h, f"{b}attn_drop")])
        h = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{b}ln2")(x)
        h = keras.layers.Dense(4 * d, activation=_gelu, kernel_initializer=_normal(0.02), name=f"{b}mlp_fc")(h)
        h = keras.layers.Dense(d, kernel_initializer=_normal(residual_std), name=f"{b}mlp_proj")(h)
        x = keras.layers.Add(name=f"{b}add2")([x, dropout(h, f"{b}mlp_drop")])
    x = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="ln_f")(x)
    logits = keras.layers.Dense(vocab_size, kernel_initializer=_normal(0.02), name="logits")(x)
    return keras.Model(ids, logits, name="charlm_transformer")


class KerasWindowRuntime(StepwiseReference):
    """The step interface on Keras, for parity checks: each step re-runs the training model
    on the window the sliding-window policy holds (state: window ids and length)."""

    def __init__(self, arch: Transformer, config: TransformerConfig, weights: Mapping[str, np.ndarray]):
        self.config = config
        self.vocab_size = int(weights["logits.1"].shape[0])
        self.model = build_model(config, self.vocab_size)
        set_named_weights(self.model, weights)

    def initial_state(self, batch: int = 1) -> State:
        return np.zeros((batch, self.config.block_size), np.int32), np.zeros(batch, np.int32)

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int32).reshape(-1)
        tokens, lengths = state
        if np.any(lengths != lengths[0]):
            return by_length(self.step, state, ids)
        window, n, _ = slide(tokens, int(lengths[0]), ids, self.config.block_size)
        with warnings.catch_warnings():  # a one-character window: Keras warns that softmax over it is 1
            warnings.filterwarnings("ignore", message="You are using a softmax over axis")
            logits = np.asarray(self.model(window[:, :n], training=False))[:, -1]
        return (window, np.full(len(ids), n, np.int32)), log_softmax(logits)
