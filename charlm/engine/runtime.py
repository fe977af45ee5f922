"""Pure-numpy step-wise inference for SimpleRNN, LSTM and GRU stacks.

The same weights Keras trained, evaluated with explicit state in and out:
reading a prompt costs one recurrent pass, each new character one step for
all beams at once, and no TensorFlow import (``charlm --once`` and the TUI
start in a fraction of a second). ``tests/engine/test_parity.py`` checks it
against Keras for every architecture.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from charlm.engine.step import State, log_softmax
from charlm.trainer.config import ModelConfig


def _single_threaded_blas() -> None:
    """Use one BLAS thread: for (beams x units) matrices, thread hand-offs cost more
    than they save (measured: a 5-beam GRU-256 step 314 us with one thread, 564 us
    with two). Process-wide, on purpose: inference is the only BLAS user here."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Branch-free and overflow-free: 0.5 * (1 + tanh(x / 2)) equals 1 / (1 + exp(-x)).
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class _Layer:
    """One recurrent layer: input projection done outside, recurrence here."""

    def __init__(self, arch: str, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray):
        self.arch = arch
        self.units = recurrent.shape[0]
        self.kernel = kernel
        self.recurrent = recurrent
        self.reset_after = arch == "gru" and bias.ndim == 2
        if self.reset_after:
            self.in_bias, self.rec_bias = bias[0], bias[1]
        else:
            self.in_bias, self.rec_bias = bias, None
        if arch == "gru" and not self.reset_after:
            u = self.units
            self.rec_zr = np.ascontiguousarray(recurrent[:, : 2 * u])
            self.rec_h = np.ascontiguousarray(recurrent[:, 2 * u :])
        self.n_states = 2 if arch == "lstm" else 1

    def project(self, x: np.ndarray) -> np.ndarray:
        """Input contribution for any leading shape: x @ W + b."""
        return x @ self.kernel + self.in_bias

    def cell(self, xp: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """One step given the projected input ``xp`` (B, gates*units)."""
        h = state[0]
        u = self.units
        if self.arch == "rnn":
            return (np.tanh(xp + h @ self.recurrent),)
        if self.arch == "lstm":
            z = xp + h @ self.recurrent
            i = _sigmoid(z[:, :u])
            f = _sigmoid(z[:, u : 2 * u])
            g = np.tanh(z[:, 2 * u : 3 * u])
            o = _sigmoid(z[:, 3 * u :])
            c = f * state[1] + i * g
            return (o * np.tanh(c), c)
        if self.reset_after:
            r_all = h @ self.recurrent + self.rec_bias
            zr = _sigmoid(xp[:, : 2 * u] + r_all[:, : 2 * u])
            z, r = zr[:, :u], zr[:, u:]
            hh = np.tanh(xp[:, 2 * u :] + r * r_all[:, 2 * u :])
        else:
            zr = _sigmoid(xp[:, : 2 * u] + h @ self.rec_zr)
            z, r = zr[:, :u], zr[:, u:]
            hh = np.tanh(xp[:, 2 * u :] + (r * h) @ self.rec_h)
        return (hh + z * (h - hh),)  # = z * h + (1 - z) * hh, one operation fewer


class NumpyRuntime:
    """A trained model as a batched step function (implements ``StepModel``)."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray]):
        _single_threaded_blas()
        self.config = config
        emb = weights["embed.0"].astype(np.float32)
        self.vocab_size = emb.shape[0]
        self.layers = [
            _Layer(
                config.arch,
                weights[f"rnn_{i}.0"].astype(np.float32),
                weights[f"rnn_{i}.1"].astype(np.float32),
                weights[f"rnn_{i}.2"].astype(np.float32),
            )
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
        x = self.input_table[np.asarray(ids, dtype=np.intp)]
        new: list[np.ndarray] = []
        h = x
        for i, layer in enumerate(self.layers):
            if i:
                x = layer.project(h)
            out = layer.cell(x, state[len(new) : len(new) + layer.n_states])
            new.extend(out)
            h = out[0]
        return tuple(new), log_softmax(h @ self.out_kernel + self.out_bias)

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]:
        """Read a whole sequence (batch 1): log-probs after each id (T, vocab), final state.

        Layer by layer, so each layer's input projection is one matrix product
        over all time steps; only the recurrence loops.
        """
        ids = np.asarray(ids, dtype=np.intp)
        state = state if state is not None else self.initial_state(1)
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
        logits = outputs @ self.out_kernel + self.out_bias
        return tuple(final), log_softmax(logits)

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        """Read a non-empty prompt; batch-1 state and the next-character log-probs (vocab,)."""
        if len(prompt_ids) == 0:
            raise ValueError("start() needs at least one id")
        state, logprobs = self.run(prompt_ids)
        return state, logprobs[-1]
