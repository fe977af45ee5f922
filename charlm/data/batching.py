"""Many-to-many training batches: contiguous chunks, fresh offset and shuffle each epoch."""

from __future__ import annotations

import numpy as np


def epoch_chunks(ids: np.ndarray, seq_length: int, rng: np.random.Generator) -> np.ndarray:
    """Cut ``ids`` into shuffled chunks of ``seq_length + 1`` for one epoch.

    Consecutive chunks share one boundary id, so every character after the
    random offset is a target exactly once; the offset changes which
    character starts a chunk from epoch to epoch.
    """
    n = len(ids)
    if n < seq_length + 1:
        raise ValueError(f"need at least {seq_length + 1} ids, got {n}")
    max_offset = min(seq_length, n - (seq_length + 1))
    offset = int(rng.integers(0, max_offset + 1))
    count = (n - offset - 1) // seq_length
    starts = offset + seq_length * np.arange(count)
    rng.shuffle(starts)
    return ids[starts[:, None] + np.arange(seq_length + 1)]


def epoch_batches(
    ids: np.ndarray, seq_length: int, batch_size: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, targets) batches of one epoch; inputs = chunk[:-1], targets = chunk[1:].

    A trailing partial batch is dropped (one shape, one compiled step) unless it
    is the only batch.
    """
    chunks = epoch_chunks(ids, seq_length, rng)
    n_batches = max(len(chunks) // batch_size, 1)
    batches = [chunks[b * batch_size : (b + 1) * batch_size] for b in range(n_batches)]
    return [(batch[:, :-1], batch[:, 1:]) for batch in batches]


def stream_batches(
    ids: np.ndarray, seq_length: int, batch_size: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches for stateful training: row j of every batch continues row j of the previous one.

    The text (after a random offset) is cut into ``batch_size`` contiguous
    streams read in order, so a model that carries its state from batch to
    batch learns from context longer than ``seq_length`` -- as it is used
    when generating and when validation perplexity is measured.
    """
    n = len(ids)
    if n < batch_size * seq_length + 1:
        raise ValueError(f"need at least {batch_size * seq_length + 1} ids, got {n}")
    offset = int(rng.integers(0, min(seq_length, n - 1 - batch_size * seq_length) + 1))
    stream_len = (n - offset - 1) // batch_size
    steps = stream_len // seq_length
    starts = offset + stream_len * np.arange(batch_size)
    batches = []
    for t in range(steps):
        window = ids[starts[:, None] + t * seq_length + np.arange(seq_length + 1)]
        batches.append((window[:, :-1], window[:, 1:]))
    return batches
