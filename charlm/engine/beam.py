"""Beam search, deterministic and stochastic (Gumbel-top-k), over the batched step interface.

All beams advance in one batched ``model.step`` per character. The stochastic
variant is Kool, van Hoof and Welling (ICML 2019), "Stochastic Beams and Where
to Find Them": k sequences sampled without replacement from the
temperature-scaled model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from charlm.engine.decoding import (
    Cursor,
    NgramIndex,
    StopMatcher,
    apply_temperature,
    block_tokens,
)
from charlm.engine.step import StepModel, take

_LN2 = float(np.log(2.0))


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for x <= 0, accurate everywhere (Maechler, 2012)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > -_LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def truncated_gumbel(parent: np.ndarray, perturbed: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Condition children's Gumbels on their maximum being the parent's value.

    ``G = -log(exp(-parent) - exp(-z) + exp(-perturbed))`` in the stable form
    of Kool et al. (2019), appendix B.3: with
    ``v = parent - perturbed + log1mexp(perturbed - z)``,
    ``G = parent - max(v, 0) - log1p(exp(-|v|))``. The child with
    ``perturbed == z`` gets exactly ``parent``; -inf children stay -inf.

    Args:
        parent: the parents' perturbed values G, broadcastable to ``perturbed``.
        perturbed: children's ``phi + Gumbel(0, 1)``.
        z: the maximum of ``perturbed`` over each parent's children.

    Returns:
        The conditioned values, same shape as ``perturbed``.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        v = parent - perturbed + log1mexp(perturbed - z)
        return parent - np.maximum(v, 0.0) - np.log1p(np.exp(-np.abs(v)))


def _top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest finite values, best first, lower index first on ties."""
    k = min(k, int(np.count_nonzero(np.isfinite(values))))
    idx = np.arange(values.size) if k >= values.size else np.argpartition(-values, k - 1)[:k]
    return idx[np.lexsort((idx, -values[idx]))]


def _lcp(a: np.ndarray, b: np.ndarray) -> int:
    n = min(a.size, b.size)
    eq = a[:n] == b[:n]
    return n if eq.all() else int(np.argmin(eq))


@dataclass(frozen=True)
class BeamResult:
    """One hypothesis of a beam search; ids count from where the search began.

    ``ids`` include a stop string when ``cut`` > 0: the last ``cut`` characters
    of the whole generated text (possibly reaching before the search began) are
    the stop string. ``logprob`` is the model's log-prob of all of ``ids``.
    """

    ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    logprob: float
    cut: int = 0
    key: float = float("nan")

    def score(self, alpha: float, stochastic: bool) -> float:
        """What the search ranks by: the Gumbel key, or ``logprob / len**alpha``."""
        return self.key if stochastic else self.logprob / max(1, len(self.ids)) ** alpha


class BeamSearch:
    """Deterministic or stochastic beam search, advanced one character per :meth:`step`.

    Deterministic: width-k search on the model's cumulative log-prob; a child
    that completes a stop string is finished and leaves the beam. Stochastic
    (Kool et al., 2019): phi is the temperature-scaled log-prob, children's
    perturbed values are conditioned on their parent's with
    :func:`truncated_gumbel`, and the top k by G among all children and the
    finished hypotheses are kept, so the result is k distinct sequences sampled
    without replacement. All live beams advance in one batched ``model.step``.

    Live beams share a committed ``prefix`` (pushed into the shared
    :class:`NgramIndex`) and own only their diverging tails, with a private
    n-gram table each; a tail is copied only when a beam branches. Stochastic
    beams rarely branch or merge, so their tails are long but never copied:
    the work per character stays O(k * V) plus O(k) list appends.
    """

    def __init__(
        self,
        model: StepModel,
        cursor: Cursor,
        *,
        width: int,
        stochastic: bool,
        temperature: float,
        rng: np.random.Generator,
        chars: Sequence[str],
        index: NgramIndex,
        context: Sequence[str],
    ):
        """Start a search at a batch-1 position.

        Args:
            model: the step model.
            cursor: where to start (state plus log-probs or an unfed id).
            width: beam width k.
            stochastic: Gumbel-top-k stochastic beam search instead of deterministic.
            temperature: scales phi (stochastic only).
            rng: the generation's random generator (stochastic only).
            chars: character of each id (stop strings are matched on text).
            index: shared n-gram index over prompt + text before the search; the
                search pushes its committed prefix into it.
            context: the text generated before the search (stop strings may span it).
        """
        self.width, self.stochastic, self.temperature = width, stochastic, temperature
        self._model, self._rng, self._chars, self._index = model, rng, chars, index
        self._committed = list(context)  # context + prefix, as characters
        self.base = len(self._committed)
        self._origin = cursor
        self._state = cursor.state
        self._pending = None if cursor.pending is None else np.array([cursor.pending], np.int64)
        self._cum, self._phi, self._key = np.zeros(1), np.zeros(1), np.zeros(1)
        self._tails: list[list[int]] = [[]]
        self._tails_lp: list[list[float]] = [[]]
        self._grams: list[dict[tuple[int, ...], tuple[int, ...]]] = [{}]
        self._grams_n = index.n
        self._prefix: list[int] = []
        self._prefix_lp: list[float] = []
        self.finished: list[BeamResult] = []
        self.depth = 0
        self.done = False

    @property
    def live(self) -> int:
        return int(self._cum.size)

    def _advance(self) -> np.ndarray:
        if self._pending is None:
            return np.asarray(self._origin.advance(self._model), dtype=np.float64)[None, :]
        self._state, lp = self._model.step(self._state, self._pending)
        return np.asarray(lp, dtype=np.float64)

    def _row_suffix(self, r: int, n: int) -> str:
        """The last ``n`` characters of live beam ``r``'s whole text."""
        if n <= 0:
            return ""
        part = self._tails[r][-n:]
        s = "".join(self._chars[i] for i in part)
        need = n - len(part)
        return "".join(self._committed[-need:]) + s if need > 0 else s

    def _block(self, lp: np.ndarray) -> tuple[np.ndarray, list[tuple[int, ...] | None]]:
        """No-repeat n-gram blocking per beam; also returns each beam's n-gram context."""
        if self._index.n <= 0:
            return lp, [None] * lp.shape[0]
        if self._grams_n != self._index.n:  # the n-gram size changed live
            self._grams = [self._index.tail_grams(t) for t in self._tails]
            self._grams_n = self._index.n
        blocked = lp.copy()
        ctxs = [self._index.context(t) for t in self._tails]
        for r, ctx in enumerate(ctxs):
            if ctx is not None:
                banned = self._index.followers(ctx).union(self._grams[r].get(ctx, ()))
                block_tokens(blocked[r], np.fromiter(banned, np.int64, len(banned)))
        return blocked, ctxs

    def step(self, stops: StopMatcher, *, num: int = 1, alpha: float = 0.0) -> None:
        """Generate one more character on every live beam (one batched model step).

        Args:
            stops: the stop strings; a beam completing one is finished.
            num: how many results are wanted (deterministic early stopping).
            alpha: length-penalty exponent (deterministic early stopping only at 0).
        """
        lp = self._advance()
        n_live, vocab = lp.shape
        blocked, ctxs = self._block(lp)
        if self.stochastic:
            phi = self._phi[:, None] + apply_temperature(blocked, self.temperature)
            with np.errstate(invalid="ignore"):
                perturbed = phi + self._rng.gumbel(size=phi.shape)
            z = perturbed.max(axis=1, keepdims=True)
            # G is increasing in the perturbed value within a parent, so only each
            # parent's top-k children can make the cut: condition just those.
            if self.width < vocab:
                cols = np.argpartition(-perturbed, self.width - 1, axis=1)[:, : self.width]
            else:
                cols = np.broadcast_to(np.arange(vocab), perturbed.shape)
            sub = np.take_along_axis(perturbed, cols, axis=1)
            flat = truncated_gumbel(self._key[:, None], sub, z).ravel()
            pool = np.concatenate([flat, [f.key for f in self.finished]])
            chosen = _top_indices(pool, self.width)
            self.finished = [self.finished[i - flat.size] for i in chosen if i >= flat.size]
            child = chosen[chosen < flat.size]
            parents, tokens = child // cols.shape[1], cols.ravel()[child]
            child_keys = flat[child]
        else:
            if n_live == 1 and self.width == 1:  # exactly greedy, float ties included
                child = np.array([np.argmax(blocked[0])])
            else:
                child = _top_indices((self._cum[:, None] + blocked).ravel(), self.width)
            parents, tokens = np.divmod(child, vocab)
            child_keys = np.full(child.size, np.nan)
        tok_lp = lp[parents, tokens]
        live = np.ones(child.size, dtype=bool)
        par, tok, tlp = parents.tolist(), tokens.tolist(), tok_lp.tolist()
        if stops.max_len:
            for j, (p, t) in enumerate(zip(par, tok, strict=True)):
                cut = stops.match(self._row_suffix(p, stops.max_len - 1) + self._chars[t])
                if cut:
                    live[j] = False
                    self.finished.append(
                        BeamResult(
                            (*self._prefix, *self._tails[p], t),
                            (*self._prefix_lp, *self._tails_lp[p], tlp[j]),
                            float(self._cum[p] + tlp[j]),
                            cut,
                            float(child_keys[j]),
                        )
                    )
        self.depth += 1
        keep = np.flatnonzero(live)
        if keep.size == 0:
            self._cum = np.zeros(0)
            self.done = True
            return
        self._extend([par[j] for j in keep], [tok[j] for j in keep], [tlp[j] for j in keep], ctxs)
        parents, tokens = parents[keep], tokens[keep]
        if self.stochastic:
            self._phi, self._key = phi[parents, tokens], child_keys[keep]
        self._cum = self._cum[parents] + tok_lp[keep]
        self._state, self._pending = take(self._state, parents), tokens
        self._compact()
        if not self.stochastic:
            self._prune_finished(num, alpha)

    def _extend(self, par: list[int], tok: list[int], tlp: list[float], ctxs: list[tuple[int, ...] | None]) -> None:
        """New live beams: each child owns its parent's tail, copied when a parent branches."""
        owned: set[int] = set()
        tails, tails_lp, grams = [], [], []
        for p in par:  # copy before any append, so siblings never see each other's ids
            first = p not in owned
            owned.add(p)
            tails.append(self._tails[p] if first else list(self._tails[p]))
            tails_lp.append(self._tails_lp[p] if first else list(self._tails_lp[p]))
            grams.append(self._grams[p] if first else dict(self._grams[p]))
        for j, p in enumerate(par):
            tails[j].append(tok[j])
            tails_lp[j].append(tlp[j])
            ctx = ctxs[p]
            if ctx is not None:
                grams[j][ctx] = grams[j].get(ctx, ()) + (tok[j],)
        self._tails, self._tails_lp, self._grams = tails, tails_lp, grams

    def _compact(self) -> None:
        """Move the ids all live beams share into the committed prefix."""
        tails = self._tails
        t0, c, n = tails[0], 0, len(tails[0])
        while c < n and all(t[c] == t0[c] for t in tails):
            c += 1
        if c:
            ids = t0[:c]
            self._prefix += ids
            self._prefix_lp += self._tails_lp[0][:c]
            self._index.extend(ids)
            self._committed.extend(self._chars[i] for i in ids)
            self._tails = [t[c:] for t in tails]
            self._tails_lp = [t[c:] for t in self._tails_lp]
            self._grams = [self._index.tail_grams(t) for t in self._tails]

    def _prune_finished(self, num: int, alpha: float) -> None:
        """Bound the finished list; with alpha 0, stop once no live beam can enter the n-best."""
        if len(self.finished) > 4 * max(num, self.width, 64):
            self.finished.sort(key=lambda f: -f.score(alpha, False))
            del self.finished[max(num, self.width, 64) :]
        if alpha == 0.0 and len(self.finished) >= num:
            best = sorted((f.logprob for f in self.finished), reverse=True)
            if best[num - 1] >= self._cum.max():  # log-probs only fall as beams grow
                self.done = True

    def _best_finished(self, alpha: float) -> BeamResult | None:
        if not self.finished:
            return None
        return max(self.finished, key=lambda f: f.score(alpha, self.stochastic))

    def _top_live(self) -> int:
        return int(np.argmax(self._key if self.stochastic else self._cum))

    def _winner_is_finished(self, alpha: float) -> BeamResult | None:
        """In stochastic mode the top key already decides the first sample."""
        best = self._best_finished(alpha)
        if self.stochastic and best is not None and best.key > self._key[self._top_live()]:
            return best
        return None

    def settled(self, stops: StopMatcher, alpha: float = 0.0) -> int:
        """How many characters of the whole text (from the very start) are final.

        Deterministic: what all live beams and the best finished hypothesis
        share. Stochastic: the top-key item decides the first sample (its best
        child inherits its key), so its text is final. Either way, text that
        might begin a stop string is held back.

        Args:
            stops: the stop strings.
            alpha: length-penalty exponent (picks the best finished hypothesis).
        """
        if self.done or self.live == 0:
            return self.base
        fin = self._winner_is_finished(alpha)
        if fin is not None:
            return self.base + len(fin.ids) - fin.cut
        rows = [self._top_live()] if self.stochastic else range(self.live)
        end = self.base + len(self._prefix) + len(self._tails[0])
        lim = end if self.stochastic else self.base + len(self._prefix)
        if stops.max_len > 1:
            for r in rows:
                lim = min(lim, end - stops.holdback(self._row_suffix(r, stops.max_len - 1)))
        best = None if self.stochastic else self._best_finished(alpha)
        if best is not None:
            f = np.asarray(best.ids[: len(best.ids) - best.cut], dtype=np.int64)
            n = _lcp(f, np.asarray(self._prefix, dtype=np.int64))
            if n == len(self._prefix) and f.size > n:
                n += min(_lcp(f[n:], np.asarray(t, dtype=np.int64)) for t in self._tails)
            lim = min(lim, self.base + n)
        return lim

    def path(self, alpha: float = 0.0, start: int = 0) -> tuple[list[int], list[float]]:
        """Ids and model log-probs from ``start`` (counted from the search's beginning)
        along a hypothesis that contains the settled text."""
        fin = self._winner_is_finished(alpha)
        if fin is not None:
            return list(fin.ids[start:]), list(fin.token_logprobs[start:])
        r = self._top_live() if self.stochastic else 0
        a = max(0, start - len(self._prefix))
        ids = self._prefix[start:] + self._tails[r][a:]
        return ids, self._prefix_lp[start:] + self._tails_lp[r][a:]

    def handoff(self, alpha: float = 0.0) -> tuple[Cursor, list[int], list[float]] | None:
        """Give the best live beam's position to another strategy (None: the result is decided).

        Pushes that beam's tail into the shared n-gram index; returns the cursor
        and the ids/log-probs generated since the search began.
        """
        if self.depth == 0:
            return self._origin, [], []
        if self.live == 0 or self._winner_is_finished(alpha) is not None:
            return None
        r = self._top_live()
        self._index.extend(self._tails[r])
        cursor = Cursor(take(self._state, [r]), None, int(self._pending[r]))  # type: ignore[index]
        return cursor, self._prefix + self._tails[r], self._prefix_lp + self._tails_lp[r]

    def results(self, alpha: float = 0.0) -> list[tuple[BeamResult, float]]:
        """Finished and live hypotheses with their scores, best first."""
        items = list(self.finished)
        for r in range(self.live):
            key = float(self._key[r]) if self.stochastic else float("nan")
            items.append(
                BeamResult(
                    (*self._prefix, *self._tails[r]),
                    (*self._prefix_lp, *self._tails_lp[r]),
                    float(self._cum[r]),
                    0,
                    key,
                )
            )
        scored = [(it, it.score(alpha, self.stochastic)) for it in items]
        scored.sort(key=lambda x: -x[1])
        return scored
