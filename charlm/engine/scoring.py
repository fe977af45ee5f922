"""Exact perplexity: exp(total cross-entropy / number of predicted characters).

Every character of a text is predicted from all the characters before it
(the recurrent state is carried through the whole text), the first one after
the separator that precedes every document in the training text. The sum is
kept in float64; no averaging of per-batch exponentials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charlm.data.corpus import DOC_SEPARATOR
from charlm.data.vocab import Vocabulary
from charlm.engine.step import SequenceModel

#: Characters scored per model call: bounds memory to (chunk x vocab) log-probs.
SCORE_CHUNK = 4096


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
