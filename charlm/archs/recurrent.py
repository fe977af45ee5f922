"""Elman RNN (SimpleRNN), LSTM and GRU: the seed study's three architectures.

One module for the three, since they differ only in their cell: an
embedding (or a one-hot identity) feeds N recurrent layers, each followed by
dropout, and a dense layer gives the logits. Layer names are fixed
(``embed``, ``rnn_0``..., ``logits``) so weights move by name between the
training model, the Keras step model, the ``.npz`` store and the numpy
runtime. Layer settings stay cuDNN-eligible (default activations, no
recurrent dropout, ``reset_after=True`` for GRU unless asked), so a GPU user
gets the fast kernels.

The numpy runtime evaluates the same weights with explicit state in and out:
reading a prompt costs one recurrent pass, each new character one step for
all beams at once, and no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from charlm.archs.base import ArchConfig, Architecture, Layout, State, StepwiseReference, log_softmax
from charlm.spec import Spec, setting

#: Characters read per chunk by ``run``-based reading of long texts: bounds memory to
#: (chunk x vocab) log-probs whatever the text's length.
READ_CHUNK = 4096


@dataclass(frozen=True)
class RecurrentConfig(ArchConfig):
    """Sizes of a recurrent stack. Defaults chosen by measurement on the seed corpus
    (docs/experiments.md): one LSTM layer of 192 units on a 64-wide embedding."""

    units: int = setting(192, Spec(int, 1, 4096, flag="--units", help="Recurrent units per layer.",
                                   ladder=(32, 64, 128, 192, 256, 384, 512, 1024)))
    layers: int = setting(1, Spec(int, 1, 8, flag="--layers", help="Stacked layers."))
    embedding: int = setting(64, Spec(int, 0, 1024, flag="--embedding",
                                      help="Embedding width (0 = one-hot input, as the seed study)."))
    dropout: float = setting(0.1, Spec(float, 0.0, 1.0, hi_open=True, flag="--dropout",
                                       help="Dropout after each layer."))
    input_dropout: float = setting(0.1, Spec(float, 0.0, 1.0, hi_open=True, flag="--input-dropout",
                                             help="Drop whole input characters at random (regularisation)."))

    @property
    def one_hot(self) -> bool:
        return self.embedding == 0


@dataclass(frozen=True)
class SimpleRNNConfig(RecurrentConfig):
    ARCH: ClassVar[str] = "rnn"


@dataclass(frozen=True)
class LSTMConfig(RecurrentConfig):
    ARCH: ClassVar[str] = "lstm"


@dataclass(frozen=True)
class GRUConfig(RecurrentConfig):
    ARCH: ClassVar[str] = "gru"

    reset_after: bool = setting(True, Spec(bool, help="GRU variant (True is the cuDNN-compatible one)."))


class Recurrent(Architecture):
    """SimpleRNN, LSTM or GRU, depending on ``name``."""

    def __init__(self, name: str, title: str, gates: int, n_states: int, config_cls: type[RecurrentConfig],
                 summary: str):
        self.name, self.title, self.gates, self.n_states = name, title, gates, n_states
        self.config_cls, self.summary = config_cls, summary

    def label(self, config: RecurrentConfig) -> str:  # type: ignore[override]
        return f"{self.title} {config.layers}×{config.units}"

    def describe(self, config: RecurrentConfig) -> str:  # type: ignore[override]
        layers = f"{config.layers} layer{'s' if config.layers > 1 else ''}"
        inputs = "one-hot input" if config.one_hot else f"embedding {config.embedding}"
        return f"{self.title}, {layers} × {config.units} units, {inputs}, dropout {config.dropout:g}"

    def layout(self, config: RecurrentConfig, vocab_size: int) -> Layout:  # type: ignore[override]
        layout: Layout = {}
        width = vocab_size if config.one_hot else config.embedding
        layout["embed.0"] = (vocab_size, width)
        g, u = self.gates, config.units
        for i in range(config.layers):
            layout[f"rnn_{i}.0"] = (width, g * u)
            layout[f"rnn_{i}.1"] = (u, g * u)
            layout[f"rnn_{i}.2"] = (2, g * u) if getattr(config, "reset_after", False) else (g * u,)
            width = u
        layout["logits.0"] = (u, vocab_size)
        layout["logits.1"] = (vocab_size,)
        return layout

    def frozen_weights(self, config: RecurrentConfig) -> tuple[str, ...]:  # type: ignore[override]
        return ("embed.0",) if config.one_hot else ()

    def check_training(self, config: RecurrentConfig, training: Any) -> None:  # type: ignore[override]
        """Every training setting works with a recurrent stack (stateful training included)."""

    # -- Keras ---------------------------------------------------------------------------
    def _layer(self, config: RecurrentConfig, index: int, **kwargs):
        import keras

        cls = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[self.name]
        if isinstance(config, GRUConfig):
            kwargs["reset_after"] = config.reset_after
        return cls(config.units, name=f"rnn_{index}", **kwargs)

    @staticmethod
    def _embedding(config: RecurrentConfig, vocab_size: int):
        import keras

        if config.one_hot:
            # One-hot input as a frozen identity embedding: same maths, no Lambda layer.
            return keras.layers.Embedding(vocab_size, vocab_size, embeddings_initializer=keras.initializers.Identity(),
                                          trainable=False, name="embed")
        return keras.layers.Embedding(vocab_size, config.embedding, name="embed")

    def build_keras(self, config: RecurrentConfig, vocab_size: int, *,  # type: ignore[override]
                    stateful_batch: int | None = None):
        import keras

        stateful = stateful_batch is not None
        if stateful:
            ids = keras.Input(batch_shape=(stateful_batch, None), dtype="int32", name="ids")
        else:
            ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        x = self._embedding(config, vocab_size)(ids)
        if config.input_dropout > 0:
            # One mask value per time step: a dropped character is hidden entirely.
            x = keras.layers.Dropout(config.input_dropout, noise_shape=(None, None, 1), name="drop_input")(x)
        for i in range(config.layers):
            x = self._layer(config, i, return_sequences=True, stateful=stateful)(x)
            if config.dropout > 0:
                x = keras.layers.Dropout(config.dropout, name=f"drop_{i}")(x)
        logits = keras.layers.Dense(vocab_size, name="logits")(x)
        return keras.Model(ids, logits, name=f"charlm_{self.name}")

    def keras_runtime(self, config: RecurrentConfig, weights: Mapping[str, np.ndarray]):  # type: ignore[override]
        return _KerasStepRuntime(self, config, weights)

    # -- numpy ---------------------------------------------------------------------------
    def runtime(self, config: RecurrentConfig, weights: Mapping[str, np.ndarray]) -> RecurrentRuntime:  # type: ignore[override]
        return RecurrentRuntime(self.name, config, weights)

    def search_space(self, hp: Any) -> dict[str, Any]:
        """The seed study's space: units 64-256 step 64, 1 or 2 layers, dropout 0-0.3."""
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.1)  # None while another architecture is chosen
        return {
            "units": hp.Int("units", 64, 256, step=64),
            "layers": hp.Int("layers", 1, 2),
            "dropout": None if dropout is None else round(dropout, 6),
        }


def single_threaded_blas() -> None:
    """Use one BLAS thread: for (beams x units) matrices, thread hand-offs cost more
    than they save (measured: a 5-beam GRU-256 step 314 us with one thread, 564 us
    with two). Process-wide, on purpose: inference is the only BLAS user here."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class _Layer:
    """One recurrent layer: input projection done outside, recurrence here."""

    def __init__(self, arch: str, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray):
        self.arch = arch
        self.units = u = recurrent.shape[0]
        # Sigmoid gates are computed as 0.5 * tanh(x / 2) + 0.5, so one tanh call covers
        # every gate of a step; their columns are halved here, once (exact: a power of 2).
        scale = np.ones(recurrent.shape[1], np.float32)
        if arch == "lstm":
            scale[: 2 * u] = scale[3 * u :] = 0.5  # i, f, o (g stays a tanh)
        elif arch == "gru":
            scale[: 2 * u] = 0.5  # z, r
        self.kernel = kernel * scale
        self.recurrent = recurrent * scale
        self.reset_after = arch == "gru" and bias.ndim == 2
        if self.reset_after:
            self.in_bias, self.rec_bias = bias[0] * scale, bias[1] * scale
        else:
            self.in_bias, self.rec_bias = bias * scale, None
        if arch == "gru" and not self.reset_after:
            self.rec_zr = np.ascontiguousarray(self.recurrent[:, : 2 * u])
            self.rec_h = np.ascontiguousarray(self.recurrent[:, 2 * u :])
        self.n_states = 2 if arch == "lstm" else 1

    def project(self, x: np.ndarray) -> np.ndarray:
        """Input contribution for any leading shape: x @ W + b (gate columns pre-scaled)."""
        return x @ self.kernel + self.in_bias

    def cell(self, xp: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """One step given the projected input ``xp`` (B, gates*units).

        Written for few, large numpy calls: per step the cost is a handful of
        array operations besides the matrix product.
        """
        h = state[0]
        u = self.units
        if self.arch == "rnn":
            z = h @ self.recurrent
            z += xp
            return (np.tanh(z, out=z),)
        if self.arch == "lstm":
            z = h @ self.recurrent
            z += xp
            t = np.tanh(z, out=z)  # tanh of every gate pre-activation
            s = t * 0.5
            s += 0.5  # sigmoid for the pre-scaled i, f, o columns
            c = s[:, u : 2 * u] * state[1]
            c += s[:, :u] * t[:, 2 * u : 3 * u]
            return (s[:, 3 * u :] * np.tanh(c), c)
        if self.reset_after:
            r_all = h @ self.recurrent
            r_all += self.rec_bias
            zr = xp[:, : 2 * u] + r_all[:, : 2 * u]
            hh_rec = r_all[:, 2 * u :]
        else:
            zr = h @ self.rec_zr
            zr += xp[:, : 2 * u]
        np.tanh(zr, out=zr)
        zr *= 0.5
        zr += 0.5
        z, r = zr[:, :u], zr[:, u:]
        if self.reset_after:
            hh = r * hh_rec
        else:
            hh = (r * h) @ self.rec_h
        hh += xp[:, 2 * u :]
        np.tanh(hh, out=hh)
        out = h - hh
        out *= z
        out += hh  # = z * h + (1 - z) * hh
        return (out,)


class RecurrentRuntime:
    """A trained recurrent stack as a batched step function (implements ``StepModel``)."""

    def __init__(self, arch: str, config: RecurrentConfig, weights: Mapping[str, np.ndarray]):
        single_threaded_blas()
        self.config = config
        emb = weights["embed.0"].astype(np.float32)
        self.vocab_size = emb.shape[0]
        self.layers = [
            _Layer(arch, weights[f"rnn_{i}.0"].astype(np.float32), weights[f"rnn_{i}.1"].astype(np.float32),
                   weights[f"rnn_{i}.2"].astype(np.float32))
            for i in range(config.layers)
        ]
        # Embedding lookup followed by the first projection is a table lookup.
        self.input_table = self.layers[0].project(emb).astype(np.float32)
        self.out_kernel = weights["logits.0"].astype(np.float32)
        self.out_bias = weights["logits.1"].astype(np.float32)

    def initial_state(self, batch: int = 1) -> State:
        state: list[np.ndarray] = []
        for layer in self.layers:
            state.extend(np.zeros((batch, layer.units), np.float32) for _ in range(layer.n_states))
        return tuple(state)

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        """Advance every row by one id; returns new state and (batch, vocab) log-probs."""
        new, h = self._advance(state, ids)
        return new, log_softmax(h @ self.out_kernel + self.out_bias)

    def _advance(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        x = self.input_table[np.asarray(ids, dtype=np.intp)]
        new: list[np.ndarray] = []
        h = x
        for i, layer in enumerate(self.layers):
            if i:
                x = layer.project(h)
            out = layer.cell(x, state[len(new) : len(new) + layer.n_states])
            new.extend(out)
            h = out[0]
        return tuple(new), h

    def _hidden(self, ids: np.ndarray, state: State) -> tuple[State, np.ndarray]:
        """Top-layer outputs after each id (T, units) and the final state, layer by layer,
        so each layer's input projection is one matrix product over all time steps."""
        xp_seq = self.input_table[ids]
        outputs = xp_seq
        final: list[np.ndarray] = []
        for i, layer in enumerate(self.layers):
            s = state[len(final) : len(final) + layer.n_states]
            if i:
                xp_seq = layer.project(outputs)
            outputs = np.empty((len(ids), layer.units), np.float32)
            for t in range(len(ids)):
                s = layer.cell(xp_seq[t : t + 1], s)
                outputs[t] = s[0][0]
            final.extend(s)
        return tuple(final), outputs

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]:
        """Read a whole sequence (batch 1): log-probs after each id (T, vocab), final state."""
        ids = np.asarray(ids, dtype=np.intp)
        state, outputs = self._hidden(ids, state if state is not None else self.initial_state(1))
        return state, log_softmax(outputs @ self.out_kernel + self.out_bias)

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        """Read a non-empty prompt; batch-1 state and the next-character log-probs (vocab,).

        Memory stays bounded by :data:`READ_CHUNK` whatever the prompt's length:
        only the last position's log-probs are computed.
        """
        ids = np.asarray(prompt_ids, dtype=np.intp)
        if len(ids) == 0:
            raise ValueError("start() needs at least one id")
        state = self.initial_state(1)
        for lo in range(0, len(ids), READ_CHUNK):
            state, outputs = self._hidden(ids[lo : lo + READ_CHUNK], state)
        return state, log_softmax(outputs[-1] @ self.out_kernel + self.out_bias)


class _KerasStepRuntime(StepwiseReference):
    """The Keras step model (explicit state in and out), weights set by name."""

    def __init__(self, arch: Recurrent, config: RecurrentConfig, weights: Mapping[str, np.ndarray]):
        import keras
        import tensorflow as tf

        from charlm.archs.base import set_named_weights

        self.config = config
        self.vocab_size = weights["logits.1"].shape[0]
        n = arch.n_states
        ids = keras.Input(shape=(1,), dtype="int32", name="ids")
        states_in = [keras.Input(shape=(config.units,), name=f"state_{i}_{j}")
                     for i in range(config.layers) for j in range(n)]
        x = arch._embedding(config, self.vocab_size)(ids)
        states_out = []
        for i in range(config.layers):
            layer = arch._layer(config, i, return_sequences=True, return_state=True)
            x, *new = layer(x, initial_state=states_in[i * n : (i + 1) * n])
            states_out.extend(new)
        logits = keras.layers.Dense(self.vocab_size, name="logits")(x)
        self.model = keras.Model([ids, *states_in], [logits, *states_out], name="charlm_step")
        set_named_weights(self.model, weights)
        self._n_states = config.layers * n
        self._fn = tf.function(lambda ids, *states: self.model([ids, *states], training=False),
                               reduce_retracing=True)

    def initial_state(self, batch: int = 1) -> State:
        return tuple(np.zeros((batch, self.config.units), np.float32) for _ in range(self._n_states))

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int32).reshape(-1, 1)
        logits, *new = self._fn(ids, *state)
        return tuple(np.asarray(s) for s in new), log_softmax(np.asarray(logits)[:, 0, :])



SIMPLE_RNN = Recurrent("rnn", "SimpleRNN", 1, 1, SimpleRNNConfig, "Elman RNN (SimpleRNN)")
LSTM = Recurrent("lstm", "LSTM", 4, 2, LSTMConfig, "long short-term memory")
GRU = Recurrent("gru", "GRU", 3, 1, GRUConfig, "gated recurrent unit")
