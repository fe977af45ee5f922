"""The streaming driver: runs a decoding strategy one character at a time with live settings.

:func:`generate` yields :class:`Chunk` objects as text becomes final and ends
with one :class:`Finished`. Settings may change between characters (the TUI
edits a :class:`~charlm.engine.settings.LiveSettings` while a completion
streams); a change of strategy hands the current model position over, so the
prompt is never re-read, and a :class:`Mark` says where the text decided
under the new settings begins. :mod:`charlm.engine.results` builds the
``num`` results of every mode on top of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from charlm.engine.beam import BeamResult, BeamSearch
from charlm.engine.decoding import (
    Cursor,
    ExcludedIds,
    NgramIndex,
    StopMatcher,
    block_tokens,
    greedy_token,
    sample_token,
)
from charlm.engine.modes import mode as mode_of
from charlm.engine.modes import shaping
from charlm.engine.settings import MIN_TEMPERATURE, DecodeSettings, LiveSettings
from charlm.engine.step import StepModel


@dataclass(frozen=True)
class Chunk:
    """A streamed piece of the completion.

    ``logprobs`` holds the model's log-prob (temperature 1, before any filter)
    of each character of ``text``.
    """

    text: str
    logprobs: tuple[float, ...]


@dataclass(frozen=True)
class Mark:
    """A live change of settings: the text from ``position`` on is decided under ``settings``.

    ``position`` counts characters of this generation's text (the prompt not
    included). Only changes of what shapes the text are marked
    (:func:`charlm.engine.modes.shaping`); in a beam search that goes on
    under the new settings the position is the depth of the live beams.
    """

    position: int
    settings: DecodeSettings


@dataclass(frozen=True)
class Hypothesis:
    """One complete result: text (stop string excluded), its ids and how it ranked.

    ``logprob`` is the model's log-prob of ``ids``; ``score`` is what the
    search ranked by (the normalised score for beam, the Gumbel key for
    sampled-beam, the log-prob otherwise; beam scores include the stop string).
    ``token_logprobs`` are the model's log-probs of each of ``ids``.
    """

    text: str
    ids: tuple[int, ...]
    logprob: float
    score: float
    token_logprobs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Finished:
    """The end of a stream: ``text`` is exactly the concatenation of the chunks before it.

    ``hypotheses`` is the n-best list (beam), the samples (sampled-beam) or the
    single result; ``reason`` is "length", "stop" or "cancelled".
    """

    text: str
    hypotheses: tuple[Hypothesis, ...]
    reason: str


def _beam_key(s: DecodeSettings) -> tuple[str, int, float | None]:
    """What a running beam search cannot absorb: a change of it restarts the search.

    A search keeps at least ``num`` beams, so asking for more results widens it.
    """
    m = mode_of(s.mode)
    return m.name, max(s.beam_width, s.num), s.temperature if m.uses("temperature") else None


def draw_rng(seed: int | None, draw: int = 0) -> np.random.Generator:
    """The random generator of result ``draw`` (0-based) for ``seed``.

    Draw 0 uses the seed itself, so the first of ``--num N`` results is the
    ``--num 1`` result; draw i > 0 uses the i-th child of the seed's
    :class:`numpy.random.SeedSequence` (independent streams for every seed
    up to the largest allowed, unlike ``seed + i``). No seed: fresh entropy.
    """
    if seed is None:
        return np.random.default_rng()
    if draw == 0:
        return np.random.default_rng(seed)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(draw - 1,)))


class _Run:
    """Book-keeping of one generation: committed ids, streamed text and the active strategy.

    Outside a beam search every generated id is committed to ``ids``; during a
    search the search holds its own ids until it ends or hands over.
    """

    def __init__(
        self,
        model: StepModel,
        prompt_ids: Sequence[int],
        settings: DecodeSettings | LiveSettings,
        chars: Sequence[str],
        cancelled: Callable[[], bool] | None,
        draw: int = 0,
    ):
        self.model, self.chars, self.cancelled = model, chars, cancelled
        self.live = settings if isinstance(settings, LiveSettings) else None
        self.settings = settings.get() if isinstance(settings, LiveSettings) else settings
        self.shaping = shaping(self.settings)
        self.rng = draw_rng(self.settings.seed, draw)
        self.stops = StopMatcher(self.settings.stop)
        state, lp = model.start(prompt_ids)
        self.cursor: Cursor | None = Cursor(state, np.asarray(lp, dtype=np.float64), None)
        self.index = NgramIndex(prompt_ids, self.settings.no_repeat_ngram)
        self.beam: BeamSearch | None = None
        self.beam_key: tuple[str, int, float | None] | None = None
        self.ids: list[int] = []
        self.lps: list[float] = []
        self.text: list[str] = []
        self.emitted: list[str] = []
        self.shown = 0

    def _refresh(self) -> DecodeSettings:
        s = self.live.get() if self.live is not None else self.settings
        if s.stop != self.stops.stops:
            self.stops = StopMatcher(s.stop)
        self.index.set_n(s.no_repeat_ngram)
        self.settings = s
        return s

    def _commit(self, ids: Sequence[int], lps: Sequence[float]) -> None:
        self.ids.extend(ids)
        self.lps.extend(lps)
        self.text.extend(self.chars[i] for i in ids)

    def _emit(self, end: int, ids: Sequence[int] = (), lps: Sequence[float] = (), offset: int = 0) -> Chunk | None:
        """Stream characters ``shown:end`` of the committed text followed by ``ids``.

        ``ids`` (and ``lps``) start ``offset`` positions after the committed text.
        """
        if end <= self.shown:
            return None
        lo, base = self.shown, len(self.ids) + offset
        a, b = max(0, lo - base), max(0, end - base)
        piece = self.text[lo:end] + [self.chars[i] for i in ids[a:b]]
        lp = self.lps[lo:end] + list(lps[a:b])
        self.emitted.extend(piece)
        self.shown = end
        return Chunk("".join(piece), tuple(float(x) for x in lp))

    # -- greedy / sample -------------------------------------------------------------------
    def _finish_single(self, reason: str, end: int) -> Iterator[Chunk | Finished]:
        """Stream up to ``end`` (flushing held-back text) and finish with the one result."""
        chunk = self._emit(end)
        if chunk is not None:
            yield chunk
        logprob = float(sum(self.lps[: self.shown]))
        text = "".join(self.emitted)
        hyp = Hypothesis(text, tuple(self.ids[: self.shown]), logprob, logprob, tuple(self.lps[: self.shown]))
        yield Finished(text, (hyp,), reason)

    def _step_single(self, s: DecodeSettings) -> None:
        """Choose (greedy, or sample with the current filters) and commit one character."""
        assert self.cursor is not None
        lp = self.cursor.advance(self.model)
        blocked = lp
        if self.index.n > 0:
            blocked = lp.copy()
            block_tokens(blocked, self.index.banned())
        if mode_of(s.mode).deterministic or s.temperature < MIN_TEMPERATURE:
            tok = greedy_token(blocked)
        else:
            tok = sample_token(blocked, self.rng, temperature=s.temperature, top_k=s.top_k, top_p=s.top_p)
        self.cursor.feed(tok)
        self.index.push(tok)
        self._commit([tok], [float(lp[tok])])

    def _after_single(self) -> tuple[Chunk | None, int | None]:
        """Stop check and hold-back for the character just committed."""
        m = self.stops.max_len
        if not m:
            return self._emit(len(self.text)), None
        cut = self.stops.match("".join(self.text[-m:]))
        if cut:
            return None, max(self.shown, len(self.text) - cut)
        return self._release(), None

    # -- beam modes ------------------------------------------------------------------------
    def _hypotheses(self, results: list[tuple[BeamResult, float]]) -> list[tuple[Hypothesis, BeamResult]]:
        """Turn search results into whole-text hypotheses (distinct texts, best first)."""
        out, seen = [], set()
        prefix = "".join(self.text)
        for res, score in results:
            n = max(len(self.ids) + len(res.ids) - res.cut, 0)
            text = (prefix + "".join(self.chars[i] for i in res.ids))[:n]
            if text in seen:
                continue
            seen.add(text)
            ids = (self.ids + list(res.ids))[:n]
            lps = (self.lps + list(res.token_logprobs))[:n]
            out.append((Hypothesis(text, tuple(ids), float(sum(lps)), float(score), tuple(lps)), res))
        return out

    def _finish_beam(self, cancelled: bool) -> Iterator[Chunk | Finished]:
        """End a beam search: stream the winner's rest (unless cancelled) and rank the results."""
        assert self.beam is not None
        s = self.settings
        pairs = self._hypotheses(self.beam.results(s.length_penalty))
        shown = "".join(self.emitted)
        reason = "cancelled"
        if not cancelled:
            # The winner always extends the streamed text; the check guards live stop changes.
            win = next((i for i, (h, _) in enumerate(pairs) if h.text.startswith(shown)), None)
            reason = "stop"
            if win is not None:
                pairs.insert(0, pairs.pop(win))
                hyp, res = pairs[0]
                chunk = self._emit(len(hyp.ids), res.ids, res.token_logprobs)
                if chunk is not None:
                    yield chunk
                reason = "stop" if res.cut else "length"
        hyps = tuple(h for h, _ in pairs[: s.num])
        yield Finished("".join(self.emitted), hyps, reason)

    def _switch(self) -> bool:
        """Leave the running search from its best live beam; False if its result is decided.

        The handed-over text is final (every later mode continues from it), so
        it is committed and the caller streams it at once (see :meth:`_release`).
        """
        assert self.beam is not None
        handed = self.beam.handoff(self.settings.length_penalty)
        if handed is None:
            return False
        self.cursor, ids, lps = handed
        self._commit(ids, lps)
        self.beam = self.beam_key = None
        return True

    def _release(self) -> Chunk | None:
        """Stream the committed text except what might begin a stop string."""
        m = self.stops.max_len
        hold = self.stops.holdback("".join(self.text[-m:])) if m else 0
        return self._emit(len(self.text) - hold)

    def _step_beam(self, s: DecodeSettings) -> Chunk | None:
        if self.beam is None:
            assert self.cursor is not None
            self.beam = BeamSearch(
                self.model,
                self.cursor,
                width=max(s.beam_width, s.num),
                stochastic=not mode_of(s.mode).deterministic,
                temperature=s.temperature,
                rng=self.rng,
                chars=self.chars,
                index=self.index,
                context=self.text,
            )
            self.beam_key, self.cursor = _beam_key(s), None
        self.beam.step(self.stops, num=s.num, alpha=s.length_penalty)
        if self.beam.done:
            return None
        end = self.beam.settled(self.stops, s.length_penalty)
        if end <= self.shown:
            return None
        offset = max(0, self.shown - len(self.ids))  # only fetch what is new
        ids, lps = self.beam.path(s.length_penalty, offset)
        return self._emit(end, ids, lps, offset)

    # -- main loop -------------------------------------------------------------------------
    def events(self) -> Iterator[Chunk | Mark | Finished]:
        while True:
            s = self._refresh()
            if self.beam is not None and _beam_key(s) != self.beam_key:
                if not self._switch():
                    yield from self._finish_beam(cancelled=False)
                    return
                chunk = self._release()
                if chunk is not None:
                    yield chunk
            if shaping(s) != self.shaping:
                self.shaping = shaping(s)
                yield Mark(len(self.text) + (self.beam.depth if self.beam is not None else 0), s)
            if self.beam is not None:
                if self.beam.done or len(self.ids) + self.beam.depth >= s.length:
                    yield from self._finish_beam(cancelled=False)
                    return
            elif len(self.ids) >= s.length:
                yield from self._finish_single("length", len(self.text))
                return
            if self.cancelled is not None and self.cancelled():
                if self.beam is not None:
                    yield from self._finish_beam(cancelled=True)
                else:
                    yield from self._finish_single("cancelled", len(self.text))
                return
            if mode_of(s.mode).beam:
                chunk = self._step_beam(s)
            else:
                self._step_single(s)
                chunk, stop_at = self._after_single()
                if stop_at is not None:
                    yield from self._finish_single("stop", stop_at)
                    return
            if chunk is not None:
                yield chunk


def generate(
    model: StepModel,
    prompt_ids: Sequence[int],
    settings: DecodeSettings | LiveSettings,
    chars: Sequence[str],
    *,
    cancelled: Callable[[], bool] | None = None,
    never: Sequence[int] = (),
    draw: int = 0,
) -> Iterator[Chunk | Mark | Finished]:
    """Continue a prompt, streaming the completion as it becomes final.

    Greedy and sample stream each character as soon as it is chosen, holding
    back only text that might begin a stop string. Beam search streams what
    all live beams and the best finished hypothesis share; sampled-beam
    streams the beam with the largest Gumbel key, since its best child inherits
    that key and so it always leads to the first sample. The stop string itself
    never appears. Temperature, top-k and top-p shape ``sample``; temperature
    alone shapes ``sampled-beam``; ``beam`` ranks the model's own log-probs;
    no-repeat n-gram blocking applies everywhere.

    With :class:`LiveSettings`, ``get()`` is read before every character. A
    change of mode (or of a beam search's width, or a sampled-beam's
    temperature) commits the best live beam's text and continues from its
    model state in the new mode; the prompt is never re-read. A
    :class:`Mark` tells where text decided under changed settings begins.
    The random generator is made once from the initial seed (see
    :func:`draw_rng`).

    Args:
        model: the step model (prompt read once with ``start``).
        prompt_ids: non-empty prompt ids.
        settings: fixed settings, or live ones to read before every character.
        chars: ``chars[i]`` is the (single) character of id ``i``.
        cancelled: polled before every step; True ends with reason "cancelled".
        never: ids no mode may generate (the unknown symbol), masked in one
            place (:class:`~charlm.engine.decoding.ExcludedIds`).
        draw: which result of ``num`` this is (picks the random stream).

    Yields:
        :class:`Chunk` pieces and :class:`Mark` changes, then exactly one
        :class:`Finished` whose text is the chunks' concatenation.
    """
    if never and len(set(never)) < model.vocab_size:
        model = ExcludedIds(model, never)
    yield from _Run(model, prompt_ids, settings, chars, cancelled, draw).events()

