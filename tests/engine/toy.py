"""A hand-made bigram StepModel with known probabilities, for decoding tests.

The next character depends only on the previous one, so every sequence
probability is a product of table entries and can be enumerated by hand.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from charlm.engine.step import State


class BigramModel:
    """StepModel whose next-id distribution is ``table[last id]``.

    The state is a 1-tuple holding the last id of every row, shape (B,).
    ``step_calls`` and ``batch_sizes`` record every ``step`` (tests use them
    to prove beams advance in one batched call per character).
    """

    def __init__(self, table: np.ndarray):
        table = np.asarray(table, dtype=np.float64)
        assert table.ndim == 2 and table.shape[0] == table.shape[1]
        assert np.allclose(table.sum(axis=1), 1.0)
        self.table = table
        self.vocab_size = table.shape[0]
        with np.errstate(divide="ignore"):
            self.log_table = np.log(table)
        self.start_calls = 0
        self.step_calls = 0
        self.batch_sizes: list[int] = []

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        assert len(prompt_ids) > 0
        self.start_calls += 1
        last = int(prompt_ids[-1])
        return (np.array([last], dtype=np.int64),), self.log_table[last].copy()

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int64)
        assert ids.ndim == 1 and ids.shape[0] == state[0].shape[0], "state and ids disagree"
        self.step_calls += 1
        self.batch_sizes.append(int(ids.shape[0]))
        return (ids.copy(),), self.log_table[ids].copy()


def random_table(vocab: int, seed: int, concentration: float = 1.0) -> np.ndarray:
    """A (vocab, vocab) row-stochastic table drawn from a Dirichlet with a fixed seed."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(vocab, concentration), size=vocab)


def sequence_logprob(table: np.ndarray, last_prompt_id: int, ids: Sequence[int]) -> float:
    """Natural-log probability of ``ids`` following a prompt that ends in ``last_prompt_id``."""
    prev, total = last_prompt_id, 0.0
    for i in ids:
        total += float(np.log(table[prev, i]))
        prev = i
    return total


def all_sequences(vocab: int, length: int) -> list[tuple[int, ...]]:
    """Every id sequence of exactly ``length`` (for brute-force checks)."""
    return list(itertools.product(range(vocab), repeat=length))


def reference_beam(table, last, length, k):
    """Plain, one-sequence-at-a-time beam search on cumulative log-prob."""
    beams = [((), 0.0)]
    for _ in range(length):
        cands = [
            (seq + (c,), lp + math.log(table[seq[-1] if seq else last, c]))
            for seq, lp in beams
            for c in range(table.shape[0])
        ]
        cands.sort(key=lambda x: -x[1])
        beams = cands[:k]
    return beams
