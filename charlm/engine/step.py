"""The small batched step interface every decoding strategy is written against.

A ``State`` is a tuple of arrays whose first axis is the batch (one row per
beam); strategies reorder beams with :func:`take`. Log-probabilities are
natural-log, shape ``(batch, vocab)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from charlm.archs.base import State, log_softmax, take


class StepModel(Protocol):
    """What a runtime offers decoding: read a prompt once, then one step per character."""

    vocab_size: int

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        """Read a non-empty prompt; return the batch-1 state and log-probs of shape (vocab,)."""
        ...

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        """Advance every row of ``state`` by one id; return new state and (batch, vocab) log-probs."""
        ...


class SequenceModel(StepModel, Protocol):
    """A step model that can also read a whole sequence in one call (scoring, prompts)."""

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]:
        """Log-probs after each id, shape (len(ids), vocab), and the final batch-1 state."""
        ...


__all__ = ["SequenceModel", "State", "StepModel", "log_softmax", "take"]
