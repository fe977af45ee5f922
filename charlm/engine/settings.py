"""Decoding settings, declared once, and a thread-safe holder so they can change mid-generation.

Every field of :class:`DecodeSettings` carries its :class:`~charlm.spec.Spec`:
the range checked here is the one ``charlm --help`` shows, the click option
accepts, the app's steppers walk and the saved app settings are read with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from charlm import spec
from charlm.engine.modes import MODES, TABLE
from charlm.errors import ConfigError
from charlm.spec import Spec, setting

#: Mode name -> label (the table in :mod:`charlm.engine.modes` is the source).
MODE_LABELS = {m.name: m.label for m in TABLE}
#: Below this temperature sampling is treated as greedy (argmax), avoiding overflow.
MIN_TEMPERATURE = 1e-3
#: The largest seed (numpy takes any non-negative integer; 63 bits fit JSON readers).
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class DecodeSettings:
    """How to continue a prompt.

    ``temperature`` scales logits for ``sample`` and ``sampled-beam``
    (it does not change greedy, and deterministic beam search ranks the
    model's own probabilities). ``top_k`` 0 and ``top_p`` 1.0 disable those
    filters; ``no_repeat_ngram`` 0 disables n-gram blocking. ``num`` is how
    many results to give (beam n-best, sampled-beam samples, independent
    draws for sample); beam modes search at least ``num`` beams.
    ``length_penalty`` is the exponent alpha of the beam score normalisation
    ``logp / len**alpha`` (0 = none). Which mode reads which setting is in
    :mod:`charlm.engine.modes`.
    """

    mode: str = setting("sample", Spec(str, choices=MODES, flag="--mode", help="Decoding strategy."))
    temperature: float = setting(0.7, Spec(
        float, 0.0, 100.0, flag="--temperature", short="-t", label="temperature",
        help="Sampling temperature (sample, sampled-beam); 0 = greedy.",
        ladder=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 1.7,
                2.0, 2.5, 3.0)))
    beam_width: int = setting(5, Spec(
        int, 1, 256, flag="--beam-width", short="-k", label="beam width",
        help="Beams for beam and sampled-beam (at least --num are used).",
        ladder=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 128, 256)))
    top_k: int = setting(0, Spec(
        int, 0, 2**31 - 1, flag="--top-k", label="top-k",
        help="Sample only among the K most likely characters (0 = off).",
        ladder=(0, 1, 2, 3, 5, 10, 20, 40, 80)))
    top_p: float = setting(1.0, Spec(
        float, 0.0, 1.0, lo_open=True, flag="--top-p", label="top-p",
        help="Nucleus sampling mass (1 = off).",
        ladder=(0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0)))
    no_repeat_ngram: int = setting(0, Spec(
        int, 0, 64, flag="--no-repeat-ngram", label="no-repeat-ngram",
        help="Never repeat an n-gram of this many characters (0 = off).",
        ladder=(0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 32, 64)))
    length: int = setting(200, Spec(
        int, 0, 100_000, flag="--length", short="-n", help="Characters to generate.",
        ladder=(10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)))
    stop: tuple[str, ...] = setting((), Spec(
        str, multiple=True, flag="--stop",
        help="Stop before this string (repeatable; escapes \\n \\t \\r \\\\ \\xHH \\uXXXX)."))
    num: int = setting(1, Spec(
        int, 1, 256, flag="--num", label="num",
        help="How many completions (beam n-best, sampled-beam or sample draws), one per line.",
        ladder=(1, 2, 3, 4, 5, 6, 8, 10, 16)))
    seed: int | None = setting(None, Spec(
        int, 0, MAX_SEED, optional=True, flag="--seed",
        help="Random seed (same seed, same output)."))
    length_penalty: float = setting(0.0, Spec(
        float, 0.0, 10.0, flag="--length-penalty", label="length penalty",
        help="Beam score = logp / length**alpha.",
        ladder=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0)))

    def __post_init__(self) -> None:
        if isinstance(self.stop, list):
            object.__setattr__(self, "stop", tuple(self.stop))
        spec.validate(self)
        if not all(self.stop):
            raise ConfigError("stop strings must be non-empty")

    def replace(self, **changes: Any) -> DecodeSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what ``--json`` prints and the app saves)."""
        return spec.to_mapping(self)

    @classmethod
    def from_dict(cls, data: Any) -> DecodeSettings:
        """Read saved settings strictly (unknown keys, wrong types and ranges are errors).

        Raises:
            ConfigError: naming the setting.
        """
        return spec.from_mapping(cls, data, what="decoding settings")


# -- stop strings with escapes ------------------------------------------------------------

_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "0": "\0"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def parse_escapes(text: str) -> str:
    """``text`` with backslash escapes read: ``\\n \\t \\r \\0 \\\\ \\xHH \\uXXXX \\UXXXXXXXX``.

    Anything else after a backslash (or a backslash at the end) is an error,
    and every other character stays itself (``ñ`` is ``ñ``, unlike Python's
    ``unicode_escape`` codec, which reads UTF-8 bytes as Latin-1). The CLI's
    ``--stop`` and the app's stop setting read their text with this.

    Raises:
        ConfigError: naming the bad escape.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 == len(text):
            raise ConfigError("a backslash at the end: write \\\\ for a backslash")
        code = text[i + 1]
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            i += 2
        elif code in _HEX_ESCAPES:
            digits = text[i + 2: i + 2 + _HEX_ESCAPES[code]]
            if len(digits) != _HEX_ESCAPES[code] or any(c not in "0123456789abcdefABCDEF" for c in digits):
                got = text[i: i + 2 + len(digits)]
                raise ConfigError(f"\\{code} needs {_HEX_ESCAPES[code]} hex digits (got {got!r})")
            value = int(digits, 16)
            if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ConfigError(f"\\{code}{digits} is not a Unicode character")
            out.append(chr(value))
            i += 2 + len(digits)
        else:
            raise ConfigError(f"unknown escape \\{code} (known: \\n \\t \\r \\0 \\\\ \\xHH \\uXXXX \\UXXXXXXXX)")
    return "".join(out)


def show_escapes(text: str) -> str:
    """The inverse of :func:`parse_escapes` for display: what to type to get ``text``.

    Backslashes and every character that is not printable (newline, tab,
    controls, bidi overrides) are written as escapes, so the result is safe
    to show in a terminal and ``parse_escapes(show_escapes(s)) == s``.
    """
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[char])
        elif char.isprintable():  # False for controls and format characters (bidi overrides)
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


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
