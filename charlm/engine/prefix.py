"""Model states along the prompt being typed: per-keystroke analysis in one model step.

``Engine.next_char_distribution`` and ``Engine.perplexity`` re-read the whole
text each call (12-25 ms for a 200-character prompt with a 256-unit GRU), too
slow per keystroke. The cache keeps model states along the last prompt, so
typing a character costs one model step and a backspace none, and both
numbers come out of the same pass -- conditioned exactly as the engine
conditions (normalised text after the document separator).

Memory is bounded whatever the prompt's length: the states of the last few
hundred positions are kept (backspace and small edits cost nothing), plus at
most :data:`CHECKPOINTS` states at evenly spaced positions further back (a
deep edit re-reads from the nearest one). Both are sized by bytes, so a model
with a large state (a Transformer's key/value cache) keeps fewer. Beyond the
states, the cache holds the prompt's ids and one running log-probability
total per character. Only the step interface (``start``/``step``) is used.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections import deque
from dataclasses import dataclass

import numpy as np

from charlm.engine.engine import Engine
from charlm.engine.step import State

#: At most this many checkpoint states (their spacing doubles as the prompt grows).
CHECKPOINTS = 64
#: Recent positions kept: at most this many, and at most RECENT_BYTES of states.
RECENT = 512
RECENT_BYTES = 32 * 2**20
CHECKPOINT_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Analysis:
    """What the app shows for a prompt: likeliest next characters, perplexity, unknown characters."""

    distribution: list[tuple[str, float]]
    perplexity: float
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class Position:
    """The model after reading a prompt: where a continuation of it starts.

    ``ids`` are what the model read (the document separator, then the
    normalised prompt); ``state`` and ``logprobs`` are shared with the cache
    and must not be modified.
    """

    state: State
    logprobs: np.ndarray
    ids: np.ndarray


def _nbytes(state: State, logprobs: np.ndarray) -> int:
    return sum(int(a.nbytes) for a in state) + int(logprobs.nbytes)


class PrefixCache:
    """Model states along the latest prompt, for one engine.

    Conditions exactly as the engine does (normalised text after the document
    separator); ``tests/engine/test_prefix.py`` checks it against
    ``next_char_distribution`` and ``perplexity``. Thread-safe: overlapping
    analysis workers take turns.
    """

    def __init__(self, engine: Engine, *, recent: int = RECENT, checkpoints: int = CHECKPOINTS) -> None:
        self.engine = engine
        # Seconds per model step, measured (an unknown model is never run inline).
        self.step_seconds = math.inf
        self.steps = 0  # model steps taken (tests count them)
        self._max_recent, self._max_checkpoints = recent, checkpoints
        self._lock = threading.Lock()
        self._text = ""  # the normalised text the ids are of
        self._ids = array("i")
        self._cum = array("d", [0.0])  # [i]: log-prob of ids[:i]
        self._recent: deque[tuple[int, State, np.ndarray]] = deque()  # (position, state, logprobs)
        self._checkpoints: dict[int, tuple[State, np.ndarray]] = {}
        self._spacing = 1
        self._recent_cap = recent

    # -- public ---------------------------------------------------------------------------
    def analyze(self, text: str, k: int) -> Analysis:
        """Top-``k`` next characters after ``text``, its perplexity (NaN if empty), unknown chars."""
        norm = self.engine.normalize(text)
        with self._lock:
            self._advance(norm)
            return self._result(norm, k)

    def try_analyze(self, text: str, k: int, budget: float) -> Analysis | None:
        """Like :meth:`analyze` if its model steps should take at most ``budget`` seconds
        and no other thread is using the cache; otherwise None (the caller uses a worker)."""
        norm = self.engine.normalize(text)
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if not self._recent or self._cost(norm) * self.step_seconds > budget:
                return None
            self._advance(norm)
            return self._result(norm, k)
        finally:
            self._lock.release()

    def position(self, text: str) -> Position:
        """The model's state after ``text``, reading only what is new (as :meth:`analyze` does),
        for a continuation that must not re-read the prompt (:mod:`charlm.engine.suggest`)."""
        norm = self.engine.normalize(text)
        with self._lock:
            self._advance(norm)
            _, state, logprobs = self._recent[-1]
            ids = np.empty(len(self._ids) + 1, dtype=np.int64)
            ids[0] = self.engine.prime_id
            ids[1:] = np.frombuffer(self._ids, dtype=self._ids.typecode)
            return Position(state, logprobs, ids)

    @property
    def state_count(self) -> int:
        """How many model states are held (bounded whatever the prompt's length)."""
        return len(self._recent) + len(self._checkpoints)

    # -- internals ------------------------------------------------------------------------
    def _common(self, norm: str) -> int:
        """Length of the common prefix of ``norm`` and the cached text (in characters = ids)."""
        old = self._text
        n = min(len(norm), len(old))
        if norm[:n] == old[:n]:
            return n
        lo, hi = 0, n  # norm[:lo] == old[:lo] and norm[:hi] != old[:hi]: bisect in C-speed slices
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if norm[lo:mid] == old[lo:mid]:
                lo = mid
            else:
                hi = mid
        return lo

    def _cost(self, norm: str) -> int:
        """Model steps :meth:`_advance` would take for ``norm``."""
        common = self._common(norm)
        base = self._base(common)
        return len(norm) - base

    def _base(self, common: int) -> int:
        """The deepest kept position at or before ``common`` (a recent one, else a checkpoint)."""
        if self._recent and self._recent[0][0] <= common:
            return common
        return max((p for p in self._checkpoints if p <= common), default=0)

    def _result(self, norm: str, k: int) -> Analysis:
        _, _, logprobs = self._recent[-1]
        n = len(self._ids)
        ppl = math.exp(-self._cum[n] / n) if n else math.nan
        vocab = self.engine.vocab
        unknown = tuple(sorted(c for c in set(norm) if c not in vocab))
        return Analysis(self.engine.top_chars(logprobs, k), ppl, unknown)

    def _keep(self, position: int, state: State, logprobs: np.ndarray) -> None:
        """Remember the state after ``position`` ids: in the recent window, and as a checkpoint."""
        if not self._recent:  # size the window by the model's state, once
            size = max(1, _nbytes(state, logprobs))
            self._recent_cap = max(8, min(self._max_recent, RECENT_BYTES // size))
            self._max_checkpoints = max(4, min(self._max_checkpoints, CHECKPOINT_BYTES // size))
        self._recent.append((position, state, logprobs))
        while len(self._recent) > self._recent_cap:
            self._recent.popleft()
        if position % self._spacing == 0:
            self._checkpoints[position] = (state, logprobs)
            if len(self._checkpoints) > self._max_checkpoints:
                self._spacing *= 2
                self._checkpoints = {p: v for p, v in self._checkpoints.items() if p % self._spacing == 0}

    def _truncate(self, common: int) -> tuple[int, State, np.ndarray]:
        """Forget everything after ``common``; return the deepest kept position and its state."""
        del self._ids[common:]
        del self._cum[common + 1:]
        while self._recent and self._recent[-1][0] > common:
            self._recent.pop()
        self._checkpoints = {p: v for p, v in self._checkpoints.items() if p <= common}
        if not self._recent:  # a deep edit: go on from the nearest checkpoint
            base = max(self._checkpoints)
            self._recent.append((base, *self._checkpoints[base]))
        return self._recent[-1]

    def _advance(self, norm: str) -> None:
        model = self.engine.model
        if not self._checkpoints:
            state, logprobs = model.start([self.engine.prime_id])
            self._keep(0, state, np.asarray(logprobs, dtype=np.float64).ravel())
        common = self._common(norm)
        new_ids = self.engine.vocab.encode(norm[common:]).ids
        base, state, logprobs = self._truncate(common)
        ids = self._ids
        started, steps = time.perf_counter(), 0
        # Re-read from a checkpoint up to the common prefix (a deep edit), then the new text.
        todo = list(ids[base:common]) + new_ids.tolist()
        for offset, token in enumerate(todo):
            position = base + offset
            if position >= common:
                self._cum.append(self._cum[-1] + float(logprobs[token]))
                ids.append(token)
            state, lp = model.step(state, np.array([token]))
            logprobs = np.asarray(lp, dtype=np.float64)[0]
            self._keep(position + 1, state, logprobs)
            steps += 1
        self._text = norm
        if steps:
            self.steps += steps
            per_step = (time.perf_counter() - started) / steps
            self.step_seconds = (per_step if math.isinf(self.step_seconds)
                                 else 0.8 * self.step_seconds + 0.2 * per_step)
