"""Model states after every prefix of a prompt: per-keystroke analysis in one step.

``Engine.next_char_distribution`` and ``Engine.perplexity`` re-read the whole
text each call (12-25 ms for a 200-character prompt with a 256-unit GRU), too
slow per keystroke. The cache keeps the state after each prefix of the last
prompt, so typing a character costs one model step and a backspace none, and
both numbers come out of the same pass -- conditioned exactly as the engine
conditions (normalised text after the document separator).
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from charlm.engine.engine import Engine


class PrefixCache:
    """Model states after each prefix of the latest prompt, for one engine.

    Conditions exactly as the engine does (normalised text after the document
    separator); ``tests/tui`` checks it against ``next_char_distribution`` and
    ``perplexity``. Thread-safe: overlapping analysis workers take turns.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Seconds per model step, measured (an unknown model is never run inline).
        self.step_seconds = math.inf
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._states: list[tuple[np.ndarray, ...]] = []  # [i]: after separator + ids[:i]
        self._logprobs: list[np.ndarray] = []  # [i]: next-char log-probs after the same
        self._picked: list[float] = []  # [i]: log-prob of ids[i] given its prefix

    def analyze(self, text: str, k: int) -> tuple[list[tuple[str, float]], float]:
        """Top-``k`` next characters after ``text`` and its perplexity (NaN if empty)."""
        ids = self._encode(text)
        with self._lock:
            self._advance(ids)
            return self._result(ids, k)

    def try_analyze(self, text: str, k: int, budget: float
                    ) -> tuple[list[tuple[str, float]], float] | None:
        """Like :meth:`analyze` if its model steps should take at most ``budget`` seconds
        and no other thread is using the cache; otherwise None (the caller uses a worker)."""
        ids = self._encode(text)
        if not self._lock.acquire(blocking=False):
            return None
        try:
            steps = len(ids) - self._common(ids)
            if not self._states or steps * self.step_seconds > budget:
                return None
            self._advance(ids)
            return self._result(ids, k)
        finally:
            self._lock.release()

    def _encode(self, text: str) -> list[int]:
        return self.engine.vocab.encode(self.engine.normalize(text)).ids.tolist()

    def _common(self, ids: list[int]) -> int:
        """Length of the common prefix of ``ids`` and the cached ids."""
        common, limit = 0, min(len(ids), len(self._ids))
        while common < limit and ids[common] == self._ids[common]:
            common += 1
        return common

    def _result(self, ids: list[int], k: int) -> tuple[list[tuple[str, float]], float]:
        nll = -math.fsum(self._picked)
        distribution = self.engine.top_chars(self._logprobs[-1], k)
        return distribution, math.exp(nll / len(ids)) if ids else math.nan

    def _advance(self, ids: list[int]) -> None:
        model = self.engine.model
        if not self._states:
            state, logprobs = model.start([self.engine.prime_id])
            self._states, self._logprobs = [state], [np.asarray(logprobs)]
        common = self._common(ids)
        del self._ids[common:], self._picked[common:]
        del self._states[common + 1 :], self._logprobs[common + 1 :]
        started = time.perf_counter()
        for token in ids[common:]:
            self._picked.append(float(self._logprobs[-1][token]))
            state, logprobs = model.step(self._states[-1], np.array([token]))
            self._ids.append(token)
            self._states.append(state)
            self._logprobs.append(np.asarray(logprobs)[0])
        if len(ids) > common:
            per_step = (time.perf_counter() - started) / (len(ids) - common)
            self.step_seconds = (per_step if math.isinf(self.step_seconds)
                                 else 0.8 * self.step_seconds + 0.2 * per_step)
