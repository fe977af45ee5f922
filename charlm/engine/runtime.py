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
