"""Exact perplexity: exp(total cross-entropy / number of predicted characters).

Every character of a text is predicted from all the characters before it
(the recurrent state is carried through the whole text), the first one after
the separator that precedes every document in the training text. The sum is
kept in float64; no averaging of per-batch exponentials.

**Parallel streams.** A long text (the validation tail of a big corpus) is
scored faster by :func:`score_streams`: the text is cut into K contiguous
segments, and one batched ``step`` per character advances all of them, one
row each, so the per-character cost is that of a (K x units) matrix product
instead of a (1 x units) one. A stream starts from a fresh state and first
reads the ``burn_in`` characters before its segment without scoring them,
so it scores its segment with the context the single stream has there; the
first stream starts at the text's beginning, after the separator, exactly as
:func:`score_ids`. The figure can differ from the single stream's only
through what a model remembers from more than ``burn_in`` characters back
at the K - 1 cuts (a recurrent state after ``burn_in`` characters from
zero, against one carried from the start).

Streams start at multiples of :data:`STREAM_ALIGN` characters. A runtime
whose state depends on the absolute position only through a period that
divides it -- the Transformer's sliding window, which slides every
``block_size / 2`` characters -- is then at the same phase as the single
stream, and with ``burn_in >= block_size`` its windows, hence its figure,
are the single stream's (up to float rounding). Streams pay for recurrent
runtimes, whose ``run`` is one (1 x units) product per character; the
Transformer's ``run`` already reads a window per matrix pass and its
``step`` copies its key/value cache, so for it streams are exact but about
2x slower (measured): score it with ``streams=1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charlm.data.corpus import DOC_SEPARATOR
from charlm.data.vocab import Vocabulary
from charlm.engine.step import SequenceModel, StepModel

#: Characters scored per model call: bounds memory to (chunk x vocab) log-probs.
SCORE_CHUNK = 4096
#: Parallel streams of :func:`score_streams`, at most. Measured with the built-in LSTM
#: 1x192 on a 1 MB validation tail (``bench/corpus_bench.py``, one BLAS thread, 2 shared
#: CPU cores): 28 s in one stream, 5.3 s in 128 streams (about 5.5 us per character: a
#: batched step is compute-bound from 64 rows up; 32 streams took 6.3 s, 256 took 5.2 s).
SCORE_STREAMS = 128
#: Characters a stream reads before its segment without scoring them. On that tail the
#: perplexity moved by 1e-6 (relative) with 64, by 1e-8 with 128; 128 also covers a
#: Transformer's default block of 64 twice.
BURN_IN = 128
#: Segments are no shorter than this many times the burn-in, so burn-in adds at most
#: 1/16 to the steps; a text shorter than two such segments is scored in one exact stream.
SEGMENT_PER_BURN_IN = 16
#: Streams start at multiples of this many characters (see the module docstring): the
#: windows of a Transformer whose block's half (rounded up) divides it -- blocks of 64,
#: 128, 256 -- stay at the single stream's phase.
STREAM_ALIGN = 128


@dataclass(frozen=True)
class Score:
    nll: float  # total negative log-likelihood, nats
    chars: int  # predicted characters

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll / self.chars) if self.chars else float("nan")

    @property
    def bits_per_char(self) -> float:
        return self.nll / self.chars / math.log(2) if self.chars else float("nan")


def prime_id(vocab: Vocabulary, separator: str = DOC_SEPARATOR) -> int:
    """The id a text is conditioned on before its first character: the document separator."""
    return vocab.chars.index(separator) if separator in vocab else vocab.unk_id


def score_ids(runtime: SequenceModel, ids: np.ndarray, prime: int, chunk: int = SCORE_CHUNK) -> Score:
    """Sum of -log p(ids[t] | prime, ids[:t]) over every t.

    The text is read in chunks with the state carried from one to the next,
    so memory stays (chunk x vocab) whatever the text's length, and the sum
    is exactly that of one pass over the whole text.
    """
    ids = np.asarray(ids, dtype=np.intp)
    if len(ids) == 0:
        return Score(0.0, 0)
    context = np.concatenate([[prime], ids[:-1]])
    state, total = None, 0.0
    for lo in range(0, len(ids), chunk):
        state, logprobs = runtime.run(context[lo : lo + chunk], state)
        target = ids[lo : lo + chunk]
        total += float(logprobs[np.arange(len(target)), target].astype(np.float64).sum())
    return Score(-total, len(ids))


def stream_count(n: int, streams: int = SCORE_STREAMS, burn_in: int = BURN_IN,
                 align: int = STREAM_ALIGN) -> int:
    """How many streams :func:`score_streams` uses for ``n`` characters (1: the exact single
    stream): at most ``streams``, each segment at least ``SEGMENT_PER_BURN_IN * burn_in``
    and ``2 * align`` characters long."""
    return max(1, min(streams, n // max(SEGMENT_PER_BURN_IN * burn_in, 2 * align, 1)))


def stream_layout(n: int, streams: int, burn_in: int, align: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each of ``streams`` streams reads from, scores from and stops (exclusive),
    for a text of ``n`` characters; the scored segments tile ``0 .. n`` in order.

    Reads start at multiples of ``align``, as evenly spread as that allows, and the
    first stream scores from 0 (it needs no burn-in). Needs ``n >= streams *
    max(SEGMENT_PER_BURN_IN * burn_in, 2 * align)`` (:func:`stream_count`), which
    keeps every segment non-empty.
    """
    align = max(align, 1)
    k = np.arange(streams)
    stride = (n - burn_in) // streams  # >= align, so reads strictly increase
    reads = (k * stride) // align * align
    scored = np.where(k > 0, reads + burn_in, 0)
    ends = np.append(scored[1:], n)
    return reads, scored, ends


def score_streams(runtime: SequenceModel, ids: np.ndarray, prime: int, *, streams: int = SCORE_STREAMS,
                  burn_in: int = BURN_IN, align: int = STREAM_ALIGN) -> Score:
    """:func:`score_ids` in parallel streams: the same sum, up to what the model remembers
    from more than ``burn_in`` characters back at each cut (see the module docstring).

    All streams advance together, one batched ``step`` per character of the longest
    one (a stream that is done reads a filler id, unscored), so every row of a step is
    at the same depth -- which a Transformer's windows need. Memory: the context ids
    (one copy of ``ids`` in their own small dtype) plus one step's state and
    (streams x vocab) log-probs.

    Args:
        runtime: a step model; its ``run`` serves only the single-stream case.
        ids: the text's ids.
        prime: the id read before the text (the document separator).
        streams: at most this many streams (:func:`stream_count`); 1 is :func:`score_ids`.
        burn_in: characters each stream but the first reads unscored before its segment.
        align: streams start at multiples of this many characters.
    """
    ids = np.asarray(ids)
    n = len(ids)
    k = stream_count(n, streams, burn_in, align)
    if k == 1:
        return score_ids(runtime, ids, prime)
    # What the model has just read when it predicts ids[t]: the prime, then ids[:t].
    context = np.empty(n, dtype=np.promote_types(ids.dtype, np.min_scalar_type(prime)))
    context[0] = prime
    context[1:] = ids[:-1]
    reads, scored, ends = stream_layout(n, k, burn_in, align)
    state, logprobs = _start_rows(runtime, [context[r : r + 1] for r in reads])
    rows = np.arange(k)
    total = 0.0
    steps = int((ends - reads).max())
    for t in range(steps):
        pos = reads + t
        score = (pos >= scored) & (pos < ends)
        if score.any():
            total += float(logprobs[rows[score], ids[pos[score]]].sum(dtype=np.float64))
        if t + 1 < steps:
            state, logprobs = runtime.step(state, context[np.minimum(pos + 1, n - 1)])
    return Score(-total, n)


def _start_rows(runtime: StepModel, prompts: list[np.ndarray]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Start every prompt (batch 1 each) and stack the states row-wise: one batch, one row each."""
    parts = [runtime.start(p) for p in prompts]
    state = tuple(np.concatenate(arrays) for arrays in zip(*(s for s, _ in parts), strict=True))
    return state, np.stack([lp for _, lp in parts])


def score_text(runtime: SequenceModel, ids: np.ndarray, prime: int) -> Score:
    """How charlm scores a text everywhere (validation, ``eval``, the app's figures agree): in
    parallel streams, or in one stream for a runtime that says streams do not pay for it
    (its ``scoring_streams`` attribute; the Transformer's is 1)."""
    return score_streams(runtime, ids, prime, streams=getattr(runtime, "scoring_streams", SCORE_STREAMS))
