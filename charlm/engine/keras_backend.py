"""The Keras backend (`--backend keras`): the same step interface on TensorFlow.

Mostly a reference for the numpy runtime (the parity test) and a path for
GPU users; it imports TensorFlow, which costs seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from charlm.engine.step import State, log_softmax
from charlm.trainer.config import ModelConfig


class KerasRuntime:
    """A step model built from our own config, weights set by name (no file code runs)."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray]):
        import tensorflow as tf

        from charlm.trainer.model import build_step_model, set_named_weights

        self.config = config
        self.vocab_size = weights["logits.1"].shape[0]
        self.model = build_step_model(config, self.vocab_size)
        set_named_weights(self.model, weights)
        self._n_states = config.layers * (2 if config.arch == "lstm" else 1)
        self._fn = tf.function(lambda ids, *states: self.model([ids, *states], training=False), reduce_retracing=True)

    def initial_state(self, batch: int = 1) -> State:
        return tuple(np.zeros((batch, self.config.units), np.float32) for _ in range(self._n_states))

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int32).reshape(-1, 1)
        logits, *new = self._fn(ids, *state)
        return tuple(np.asarray(s) for s in new), log_softmax(np.asarray(logits)[:, 0, :])

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]:
        state = state if state is not None else self.initial_state(1)
        out = []
        for i in np.asarray(ids):
            state, lp = self.step(state, np.array([i]))
            out.append(lp[0])
        return state, np.stack(out) if out else np.zeros((0, self.vocab_size), np.float32)

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        if len(prompt_ids) == 0:
            raise ValueError("start() needs at least one id")
        state, logprobs = self.run(prompt_ids)
        return state, logprobs[-1]
