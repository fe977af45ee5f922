"""Decoding settings, and a thread-safe holder so they can change mid-generation."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from charlm.errors import ConfigError

MODES = ("greedy", "beam", "sampled-beam", "sample")
MODE_LABELS = {
    "greedy": "greedy",
    "beam": "beam",
    "sampled-beam": "sampled beam",
    "sample": "sample",
}
#: Below this temperature sampling is treated as greedy (argmax), avoiding overflow.
MIN_TEMPERATURE = 1e-3


@dataclass(frozen=True)
class DecodeSettings:
    """How to continue a prompt.

    ``temperature`` scales logits for ``sample`` and ``sampled-beam``
    (it does not change greedy, and deterministic beam search ranks the
    model's own probabilities). ``top_k`` 0 and ``top_p`` 1.0 disable those
    filters; ``no_repeat_ngram`` 0 disables n-gram blocking. ``num`` is how
    many results beam modes return (n-best or samples). ``length_penalty`` is
    the exponent alpha of the beam score normalisation ``logp / len**alpha``
    (0 = none).
    """

    mode: str = "sample"
    temperature: float = 0.7
    beam_width: int = 5
    top_k: int = 0
    top_p: float = 1.0
    no_repeat_ngram: int = 0
    length: int = 200
    stop: tuple[str, ...] = ()
    num: int = 1
    seed: int | None = None
    length_penalty: float = 0.0

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        need(self.mode in MODES, f"mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        need(0.0 <= self.temperature <= 100.0, f"temperature must be in [0, 100] (got {self.temperature})")
        need(1 <= self.beam_width <= 256, f"beam width must be between 1 and 256 (got {self.beam_width})")
        need(self.top_k >= 0, f"top-k must be >= 0 (got {self.top_k})")
        need(0.0 < self.top_p <= 1.0, f"top-p must be in (0, 1] (got {self.top_p})")
        need(0 <= self.no_repeat_ngram <= 64, f"no-repeat-ngram must be between 0 and 64 (got {self.no_repeat_ngram})")
        need(0 <= self.length <= 100_000, f"length must be between 0 and 100000 (got {self.length})")
        need(all(isinstance(s, str) and s for s in self.stop), "stop strings must be non-empty")
        need(1 <= self.num <= 256, f"num must be between 1 and 256 (got {self.num})")
        need(self.seed is None or 0 <= self.seed < 2**63, f"seed must be >= 0 (got {self.seed})")
        need(0.0 <= self.length_penalty <= 10.0, f"length penalty must be in [0, 10] (got {self.length_penalty})")

    def replace(self, **changes: Any) -> DecodeSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stop"] = list(self.stop)
        return d


class LiveSettings:
    """Settings one thread reads every step while another changes them (the TUI).

    A generation reads :meth:`get` before each character, so a change takes
    effect from the next character on. ``version`` increases with every change.
    """

    def __init__(self, settings: DecodeSettings | None = None):
        self._lock = threading.Lock()
        self._settings = settings or DecodeSettings()
        self._version = 0

    def get(self) -> DecodeSettings:
        with self._lock:
            return self._settings

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def set(self, settings: DecodeSettings) -> None:
        with self._lock:
            self._settings = settings
            self._version += 1

    def update(self, **changes: Any) -> DecodeSettings:
        """Apply changes atomically; invalid values raise ConfigError and change nothing."""
        with self._lock:
            self._settings = self._settings.replace(**changes)
            self._version += 1
            return self._settings
