"""Many-to-many training batches: contiguous chunks, fresh offset and shuffle each epoch.

An epoch is drawn as a list of chunk *starts* (positions in the ids), a few
bytes per ``seq_length`` characters; :class:`Batches` cuts each batch out of
the ids only when it is asked for, so an epoch never holds a copy of the
corpus. Batches are int32 whatever the dtype of the ids (the small unsigned
ids of :mod:`charlm.data.vocab` are what the corpus is kept as; int32 is what
TensorFlow's sparse cross-entropy takes).

**The random numbers.** Everything an epoch draws from its generator is drawn
by :func:`epoch_starts` (shuffled chunks) or :func:`stream_starts` (carried
state), once, when the epoch's :class:`Batches` is made: one integer for the
offset, then a shuffle of the starts. :func:`skip_epoch` draws the same
numbers without making anything else, so a resumed run's epoch k gets the
batches an uninterrupted run's epoch k gets.

**Sharding over W workers** (data parallelism, see :meth:`Batches.shard`).
Every worker makes the epoch's *global* batches of ``W * batch_size`` rows
from the same generator state (same seed, same number of epochs drawn before)
-- the draws do not depend on W for shuffled chunks -- and keeps its own
``batch_size`` rows of each: worker ``w`` takes rows ``w * batch_size ..
(w + 1) * batch_size - 1``. So:

* all workers have the same number of batches, of the same shape (an
  all-reduce never waits for a worker that has run out);
* the W shards of one step are exactly the global batch a single process
  with ``batch_size = W * batch_size`` trains on, and over the epoch the
  shards partition its chunks (no chunk twice, none lost);
* stateful (``stream_batches``) shards keep their rows' continuity: row j of
  a worker's batch t + 1 continues its row j of batch t.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

#: The dtype of the batches handed to training.
BATCH_DTYPE = np.dtype(np.int32)


def _start_dtype(n: int) -> np.dtype:
    """Starts as uint32 below 2**32 ids (half of int64's memory; the shuffle draws the same)."""
    return np.dtype(np.uint32) if n <= 1 << 32 else np.dtype(np.int64)


def epoch_starts(n: int, seq_length: int, rng: np.random.Generator) -> np.ndarray:
    """The shuffled first positions of one epoch's chunks of ``seq_length + 1`` ids, out of ``n``.

    Consecutive chunks share one boundary id, so every id after the random
    offset is a target exactly once; the offset changes which id starts a
    chunk from epoch to epoch. Draws one integer and one shuffle from ``rng``.
    """
    if n < seq_length + 1:
        raise ValueError(f"need at least {seq_length + 1} ids, got {n}")
    max_offset = min(seq_length, n - (seq_length + 1))
    offset = int(rng.integers(0, max_offset + 1))
    count = (n - offset - 1) // seq_length
    starts = np.arange(count, dtype=_start_dtype(n))
    starts *= seq_length  # in place: one array of starts, no temporaries of its size
    starts += offset
    rng.shuffle(starts)
    return starts


def stream_starts(n: int, seq_length: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """First positions (steps, batch_size) of stateful batches: row j of step t + 1 starts
    where row j of step t ended. Draws one integer from ``rng``."""
    if n < batch_size * seq_length + 1:
        raise ValueError(f"need at least {batch_size * seq_length + 1} ids, got {n}")
    offset = int(rng.integers(0, min(seq_length, n - 1 - batch_size * seq_length) + 1))
    stream_len = (n - offset - 1) // batch_size
    steps = stream_len // seq_length
    dtype = _start_dtype(n)
    rows = offset + stream_len * np.arange(batch_size, dtype=dtype)
    return seq_length * np.arange(steps, dtype=dtype)[:, None] + rows


class Batches(Sequence[tuple[np.ndarray, np.ndarray]]):
    """One epoch's (inputs, targets) batches, each cut from the ids when it is asked for.

    Batch ``b`` is ``chunks = ids[starts[b][:, None] + arange(seq_length + 1)]``
    as int32, ``inputs = chunks[:, :-1]``, ``targets = chunks[:, 1:]``. Memory:
    the starts (4 bytes per chunk) and the batch in hand. A slice is a
    ``Batches`` of those batches; ``len`` is the number of batches.

    Args:
        ids: the training ids (any integer dtype; kept, not copied).
        starts: first position of every chunk, shape (batches, rows).
        seq_length: inputs per row.
    """

    def __init__(self, ids: np.ndarray, starts: np.ndarray, seq_length: int):
        if starts.ndim != 2:
            raise ValueError("starts must have shape (batches, rows)")
        self.ids = ids
        self.starts = starts
        self.seq_length = seq_length
        self._span = np.arange(seq_length + 1)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def rows(self) -> int:
        """Rows of every batch."""
        return self.starts.shape[1]

    @property
    def targets(self) -> int:
        """Characters predicted over all the batches (rows x seq_length each)."""
        return self.starts.size * self.seq_length

    @overload
    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def __getitem__(self, index: slice) -> Batches: ...

    def __getitem__(self, index: int | slice) -> tuple[np.ndarray, np.ndarray] | Batches:
        if isinstance(index, slice):
            return Batches(self.ids, self.starts[index], self.seq_length)
        chunks = self.ids[self.starts[index][:, None] + self._span].astype(BATCH_DTYPE, copy=False)
        return chunks[:, :-1], chunks[:, 1:]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for b in range(len(self)):
            yield self[b]

    def shard(self, worker: int, workers: int) -> Batches:
        """Worker ``worker``'s part (of ``workers``) of every batch: its block of ``rows // workers``
        consecutive rows (see the module docstring for the contract).

        Make the global batches with ``batch_size = workers * per-worker batch size``.
        When they are fewer rows than that (an epoch of a single, partial batch), every
        worker gets ``rows // workers`` of them and the last ``rows % workers`` are dropped.

        Raises:
            ValueError: ``worker`` is not in ``0 .. workers - 1``, or a batch has fewer
                rows than there are workers.
        """
        if not 0 <= worker < workers:
            raise ValueError(f"worker must be in 0..{workers - 1} (got {worker})")
        per = self.rows // workers
        if per == 0:
            raise ValueError(f"{workers} workers need at least {workers} chunks per batch, got {self.rows}")
        return Batches(self.ids, self.starts[:, worker * per : (worker + 1) * per], self.seq_length)


def epoch_chunks(ids: np.ndarray, seq_length: int, rng: np.random.Generator) -> np.ndarray:
    """The epoch's shuffled chunks of ``seq_length + 1`` ids as one array (a copy of the
    corpus: for inspection and tests; training uses :func:`epoch_batches`)."""
    starts = epoch_starts(len(ids), seq_length, rng)
    return ids[starts[:, None] + np.arange(seq_length + 1)]


def epoch_batches(ids: np.ndarray, seq_length: int, batch_size: int, rng: np.random.Generator) -> Batches:
    """(inputs, targets) batches of one epoch's shuffled chunks (:func:`epoch_starts`), in order.

    inputs = chunk[:-1], targets = chunk[1:]. A trailing partial batch is dropped
    (one shape, one compiled step) unless it is the only batch.
    """
    starts = epoch_starts(len(ids), seq_length, rng)
    n_batches = max(len(starts) // batch_size, 1)
    rows = min(batch_size, len(starts))
    return Batches(ids, starts[: n_batches * rows].reshape(n_batches, rows), seq_length)


def stream_batches(ids: np.ndarray, seq_length: int, batch_size: int, rng: np.random.Generator) -> Batches:
    """Batches for stateful training: row j of every batch continues row j of the previous one.

    The text (after a random offset) is cut into ``batch_size`` contiguous
    streams read in order, so a model that carries its state from batch to
    batch learns from context longer than ``seq_length`` -- as it is used
    when generating and when validation perplexity is measured.
    """
    return Batches(ids, stream_starts(len(ids), seq_length, batch_size, rng), seq_length)


def skip_epoch(n: int, seq_length: int, batch_size: int, rng: np.random.Generator, *,
               stateful: bool = False) -> None:
    """Draw from ``rng`` what one epoch of ``n`` ids draws, making no batches (resuming a run).

    ``batch_size`` is the global one; only stateful epochs depend on it.
    """
    if stateful:
        stream_starts(n, seq_length, batch_size, rng)
    else:
        epoch_starts(n, seq_length, rng)
