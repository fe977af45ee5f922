"""The decoding modes, as one table: name, label, the settings each reads, and its kind.

The command line (``--mode`` choices, which options apply), the app (which
settings rows are live, the status line, the command palette) and the
streaming driver (which strategy runs, what restarts a beam search) all read
this table; nothing else in charlm matches a mode's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charlm.engine.settings import DecodeSettings

#: Settings every mode reads: how long, where to stop, and n-gram blocking.
COMMON = ("length", "stop", "no_repeat_ngram")


@dataclass(frozen=True)
class Mode:
    """One decoding strategy.

    Args:
        name: what ``--mode`` and saved settings call it.
        label: how the app and messages show it.
        settings: the :class:`~charlm.engine.settings.DecodeSettings` fields it reads.
        deterministic: the same prompt always gives the same text (no seed).
        beam: runs a beam search (all beams advance in one batched step).
        help: one line for ``--help`` and the app's help.
    """

    name: str
    label: str
    settings: tuple[str, ...]
    deterministic: bool
    beam: bool
    help: str

    def uses(self, setting: str) -> bool:
        """Whether this mode reads ``setting`` (a DecodeSettings field name)."""
        return setting in self.settings

    @property
    def results(self) -> bool:
        """Whether it can give more than one result (``--num``)."""
        return self.uses("num")


TABLE: tuple[Mode, ...] = (
    Mode("greedy", "greedy", COMMON, deterministic=True, beam=False,
         help="always the most likely next character"),
    Mode("beam", "beam", (*COMMON, "beam_width", "length_penalty", "num"), deterministic=True, beam=True,
         help="beam search on the cumulative log-probability; the n best"),
    Mode("sampled-beam", "sampled beam", (*COMMON, "temperature", "beam_width", "num", "seed"),
         deterministic=False, beam=True,
         help="stochastic beam search (Gumbel-top-k): distinct samples without replacement"),
    Mode("sample", "sample", (*COMMON, "temperature", "top_k", "top_p", "num", "seed"),
         deterministic=False, beam=False,
         help="draw each character (temperature, top-k, top-p)"),
)
MODES: tuple[str, ...] = tuple(m.name for m in TABLE)
_BY_NAME = {m.name: m for m in TABLE}

#: Settings that shape the text while it streams (not how long, where it stops or how many).
SHAPING = ("temperature", "top_k", "top_p", "beam_width", "length_penalty", "no_repeat_ngram")


def mode(name: str) -> Mode:
    """The mode called ``name``.

    Raises:
        KeyError: no such mode (DecodeSettings validation says so first).
    """
    return _BY_NAME[name]


def shaping(settings: DecodeSettings) -> tuple[Any, ...]:
    """What the text being decided depends on: the mode and the shaping settings it reads.

    Two settings with equal ``shaping`` continue a stream the same way; the
    stream marks a change of it (see :class:`~charlm.engine.stream.Mark`).
    """
    m = mode(settings.mode)
    return (m.name, *(getattr(settings, k) if m.uses(k) else None for k in SHAPING))


def describe(settings: DecodeSettings) -> str:
    """A short label of the settings in force: "sample 0.70", "beam ×5", "greedy"."""
    m = mode(settings.mode)
    parts = [m.label]
    if m.uses("temperature"):
        parts.append(f"{settings.temperature:.2f}")
    if m.beam:
        parts.append(f"×{max(settings.beam_width, settings.num)}")
    if m.uses("top_k") and settings.top_k:
        parts.append(f"top-k {settings.top_k}")
    if m.uses("top_p") and settings.top_p < 1.0:
        parts.append(f"top-p {settings.top_p:g}")
    if settings.no_repeat_ngram:
        parts.append(f"no-repeat {settings.no_repeat_ngram}")
    if m.uses("length_penalty") and settings.length_penalty:
        parts.append(f"α {settings.length_penalty:g}")
    return " ".join(parts)
