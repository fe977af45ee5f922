"""Decoding over natural-log probabilities: filters, n-gram blocking and the search strategies.

Everything here is pure numpy (no TensorFlow, no printing) so it runs the same
against a Keras runtime and against the toy models of the tests. The stream
driver (:mod:`charlm.engine.stream`) calls these pieces one character at a
time; it owns emission, stop hold-back and live settings.

Each filter has one implementation here (temperature, top-k, top-p, n-gram
blocking, excluded ids), used alike by the strategies and by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from charlm.engine.settings import MIN_TEMPERATURE
from charlm.engine.step import State, StepModel, log_softmax

#: Slack for cumulative-probability comparisons in top-p, so 0.5 + 0.3 counts as 0.8.
_P_EPS = 1e-9


def _renorm(x: np.ndarray) -> np.ndarray:
    """Log-softmax that tolerates -inf entries (rows always keep a finite entry)."""
    return log_softmax(np.asarray(x, dtype=np.float64))


def apply_temperature(logprobs: np.ndarray, t: float) -> np.ndarray:
    """Sharpen or flatten a distribution: ``log_softmax(logprobs / t)``.

    Args:
        logprobs: log-probabilities or logits, shape (V,) or (B, V).
        t: temperature; below ``MIN_TEMPERATURE`` the result is the argmax as a
            one-hot distribution in log space (0 at the argmax, -inf elsewhere),
            which avoids overflow and makes "temperature 0" exactly greedy.

    Returns:
        Normalised log-probabilities of the same shape (float64).
    """
    x = np.asarray(logprobs, dtype=np.float64)
    if t < MIN_TEMPERATURE:
        out = np.full_like(x, -np.inf)
        np.put_along_axis(out, np.expand_dims(np.argmax(x, axis=-1), -1), 0.0, axis=-1)
        return out
    return _renorm(x / t)


def top_k_mask(logprobs: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` most likely tokens (ties go to the lower id), renormalised.

    Args:
        logprobs: shape (V,) or (B, V).
        k: how many to keep; 0 or >= V keeps everything.

    Returns:
        Renormalised log-probabilities with the other entries at -inf.
    """
    x = np.asarray(logprobs, dtype=np.float64)
    if k <= 0 or k >= x.shape[-1]:
        return _renorm(x)
    keep = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    out = np.full_like(x, -np.inf)
    np.put_along_axis(out, keep, np.take_along_axis(x, keep, axis=-1), axis=-1)
    return _renorm(out)


def top_p_mask(logprobs: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: the smallest set of most likely tokens whose probability reaches ``p``.

    Args:
        logprobs: shape (V,) or (B, V); normalised first.
        p: probability mass in (0, 1]; 1 keeps everything. The top token is
            always kept.

    Returns:
        Renormalised log-probabilities with the other entries at -inf.
    """
    lp = _renorm(logprobs)
    if p >= 1.0:
        return lp
    order = np.argsort(-lp, axis=-1, kind="stable")
    probs = np.exp(np.take_along_axis(lp, order, axis=-1))
    before = np.cumsum(probs, axis=-1) - probs  # mass of the strictly more likely tokens
    kept = before < p - _P_EPS
    kept[..., 0] = True  # the most likely token, whatever p (1e-12 included)
    keep = np.zeros(lp.shape, dtype=bool)
    np.put_along_axis(keep, order, kept, axis=-1)
    return _renorm(np.where(keep, lp, -np.inf))


def block_tokens(row: np.ndarray, banned: Iterable[int] | np.ndarray) -> None:
    """Set ``row[banned] = -inf`` in place, unless that would leave nothing to choose.

    Args:
        row: one row of log-probs (V,), modified in place.
        banned: ids to block.
    """
    idx = np.asarray(list(banned) if not isinstance(banned, np.ndarray) else banned, np.int64)
    if idx.size == 0:
        return
    saved = row[idx].copy()
    row[idx] = -np.inf
    if not np.isfinite(row).any():  # everything is blocked: blocking would end the text
        row[idx] = saved


class NgramIndex:
    """No-repeat n-gram blocking: which ids would repeat an n-gram of the history.

    Incremental, O(n) per character however long the generation: holds a
    table from each (n-1)-gram of the history to the ids that followed it.
    Beams share one index for their common history and pass their own
    diverging ``tail`` to :meth:`banned`; :func:`block_tokens` applies the ban.
    """

    def __init__(self, history: Iterable[int] = (), n: int = 0):
        self._history: list[int] = [int(i) for i in history]
        self._n = 0
        self._table: dict[tuple[int, ...], set[int]] = {}
        self.set_n(n)

    @property
    def n(self) -> int:
        return self._n

    def __len__(self) -> int:
        return len(self._history)

    def set_n(self, n: int) -> None:
        """Change the n-gram size (rebuilds the table, O(history), only when it changes)."""
        if n == self._n:
            return
        self._n, self._table = n, {}
        if n > 0:
            for j in range(n - 1, len(self._history)):
                self._add(j)

    def _add(self, j: int) -> None:
        h = self._history
        self._table.setdefault(tuple(h[j - self._n + 1 : j]), set()).add(h[j])

    def push(self, token: int) -> None:
        self._history.append(int(token))
        if self._n > 0 and len(self._history) >= self._n:
            self._add(len(self._history) - 1)

    def extend(self, tokens: Iterable[int]) -> None:
        for t in tokens:
            self.push(t)

    def context(self, tail: Sequence[int] = ()) -> tuple[int, ...] | None:
        """The last n-1 ids of ``history + tail`` (None when there are fewer)."""
        m = self._n - 1
        if m < 0 or len(self._history) + len(tail) < m:
            return None
        if len(tail) >= m:
            return tuple(tail[len(tail) - m :])
        return tuple(self._history[len(self._history) - (m - len(tail)) :]) + tuple(tail)

    def followers(self, ctx: tuple[int, ...]) -> set[int]:
        """Ids that followed the (n-1)-gram ``ctx`` in the history."""
        return self._table.get(ctx, set())

    def tail_grams(self, tail: Sequence[int]) -> dict[tuple[int, ...], tuple[int, ...]]:
        """The n-grams of ``history + tail`` that end inside ``tail``: context -> next ids.

        A beam keeps this private table for its unshared ids (tuples are
        immutable, so a copied table shares them safely).
        """
        grams: dict[tuple[int, ...], tuple[int, ...]] = {}
        if self._n <= 0:
            return grams
        m, h = self._n - 1, self._history
        ext = (h[len(h) - m :] if m else []) + [int(t) for t in tail]
        for j in range(max(len(ext) - len(tail), m), len(ext)):
            ctx = tuple(ext[j - m : j])
            grams[ctx] = grams.get(ctx, ()) + (ext[j],)
        return grams

    def banned(self, tail: Sequence[int] = ()) -> list[int]:
        """Ids banned after ``history + tail`` (``tail`` is a beam's own, unshared ids)."""
        ctx = self.context(tail)
        if ctx is None:
            return []
        return list(self.followers(ctx).union(self.tail_grams(tail).get(ctx, ())))


def greedy_token(logprobs: np.ndarray) -> int:
    """The most likely id (the lowest id on ties)."""
    return int(np.argmax(logprobs))


def sample_token(
    logprobs: np.ndarray,
    rng: np.random.Generator,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> int:
    """Ancestral sampling of one id with temperature, then top-k, then top-p.

    The distribution drawn from is exactly
    ``top_p_mask(top_k_mask(apply_temperature(logprobs, t), k), p)``.

    Args:
        logprobs: shape (V,), possibly with -inf (blocked) entries.
        rng: the generation's random generator (one uniform draw per call).
        temperature: below ``MIN_TEMPERATURE`` this is exactly :func:`greedy_token`.
        top_k: keep the k most likely (0 = off).
        top_p: nucleus mass (1.0 = off).

    Returns:
        The sampled id.
    """
    if temperature < MIN_TEMPERATURE:
        return greedy_token(logprobs)
    lp = top_p_mask(top_k_mask(apply_temperature(logprobs, temperature), top_k), top_p)
    cdf = np.cumsum(np.exp(lp))
    i = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return i if i < cdf.size else int(np.flatnonzero(np.isfinite(lp))[-1])


class ExcludedIds:
    """A step model that never offers some ids: their log-probs are -inf.

    The one place the unknown symbol is masked: the streaming driver wraps
    the model with it, so greedy, beam, sampled-beam and sample all choose
    among the other ids, however n-gram blocking or temperature would weigh
    them. Other ids keep the model's own log-probs (not renormalised), so
    scores and confidence colours are unchanged.
    """

    def __init__(self, model: StepModel, ids: Sequence[int]):
        self.model = model
        self.ids = np.asarray(sorted(set(ids)), dtype=np.intp)
        self.vocab_size = model.vocab_size

    def _mask(self, logprobs: np.ndarray) -> np.ndarray:
        out = np.array(logprobs, dtype=np.float64)  # a copy: runtimes may reuse their buffers
        out[..., self.ids] = -np.inf
        return out

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        state, lp = self.model.start(prompt_ids)
        return state, self._mask(lp)

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        state, lp = self.model.step(state, ids)
        return state, self._mask(lp)


class StopMatcher:
    """Finds stop strings at the end of a text and how much text might still start one."""

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(stops)
        self.max_len = max((len(s) for s in self.stops), default=0)
        self._prefixes = {s[:i] for s in self.stops for i in range(1, len(s))}

    def match(self, text: str) -> int:
        """Length of the longest stop string ``text`` ends with (0 if none): what to cut."""
        return max((len(s) for s in self.stops if text.endswith(s)), default=0)

    def holdback(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that a stop string starts with."""
        for i in range(min(self.max_len - 1, len(text)), 0, -1):
            if text[len(text) - i :] in self._prefixes:
                return i
        return 0


@dataclass
class Cursor:
    """A batch-1 model position: the state plus either next-token log-probs or an unfed id.

    Feeding lazily means no model step is spent after the last character and a
    new strategy can take over a position without re-reading the prompt.
    """

    state: State
    logprobs: np.ndarray | None = None
    pending: int | None = None

    def advance(self, model: StepModel) -> np.ndarray:
        """Feed the pending id (one model step) if any; return next-token log-probs (V,)."""
        if self.pending is not None:
            self.state, lp = model.step(self.state, np.array([self.pending], dtype=np.int64))
            self.logprobs, self.pending = np.asarray(lp, dtype=np.float64)[0], None
        assert self.logprobs is not None
        return self.logprobs

    def feed(self, token: int) -> None:
        self.pending, self.logprobs = int(token), None
