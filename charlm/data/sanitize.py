"""Characters that must never reach a terminal, a model or a JSON reader as they are.

Three families of code points make a terminal *do* something instead of
showing text, or make text read differently from what it is:

* **C0 controls** (U+0000-U+001F) other than newline and tab, and **DEL**
  (U+007F). ESC starts the sequences that recolour the screen, move the
  cursor, set the window title or write the clipboard; CR, BS and VT redraw
  what was already shown, so a line can hide what it really says.
* **C1 controls** (U+0080-U+009F). U+009B is a one-character CSI and U+009D an
  OSC on terminals that honour 8-bit controls. A cp1252/latin-1 decoder turns
  stray bytes into them.
* **Bidirectional formatting characters**: embeddings and overrides
  (U+202A-U+202E), isolates (U+2066-U+2069) and the marks LRM, RLM and ALM
  (U+200E, U+200F, U+061C). Overrides and isolates reorder what is displayed
  ("Trojan Source", CVE-2021-42574). The marks reorder nothing by themselves,
  but they are invisible, so two names that differ by a mark look the same;
  they are treated like the rest of the family because one rule is easier
  to trust than a list of exceptions. (The cost: subtitles in Hebrew or
  Arabic lose their marks, and a model trained on them places neutral
  punctuation by the letters around it.)

Lone surrogates (U+D800-U+DFFF) cannot be encoded for output at all; only a
file name read with ``surrogateescape`` contains them. The display functions
escape them too.

Everything else, including every letter, emoji and combining mark, is left
alone. All functions here are single regex passes (no per-character Python
loop), fast enough for every streamed chunk and for a 100 MB corpus.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

_C0_EXCEPT_TAB_NEWLINE = "\x00-\x08\x0b-\x1f"
_DEL_AND_C1 = "\x7f-\x9f"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"

#: Code points dropped from corpora (see the module docstring).
_UNSAFE = re.compile(f"[{_C0_EXCEPT_TAB_NEWLINE}{_DEL_AND_C1}{_BIDI}]")
#: What ``terminal_safe`` escapes in running text (newline and tab stay).
_DISPLAY = re.compile(f"[{_C0_EXCEPT_TAB_NEWLINE}{_DEL_AND_C1}{_BIDI}{_SURROGATES}]")
#: What it escapes in a single-line context (names, paths, error messages).
_DISPLAY_LINE = re.compile(f"[\x00-\x1f{_DEL_AND_C1}{_BIDI}{_SURROGATES}]")
#: What ``json_dumps`` escapes beyond the C0 controls that ``json`` escapes itself.
#: U+2028 and U+2029 are valid in JSON strings but end a line in JavaScript.
_JSON = re.compile(f"[{_DEL_AND_C1}{_BIDI}{_SURROGATES}\u2028\u2029]")

#: The rest of a terminal escape sequence (ECMA-48) after its first character,
#: which the look-behinds check: after ESC [ or U+009B (CSI) parameters and a final
#: byte; after ESC ] P X ^ _ or their C1 forms (OSC, DCS, SOS, PM, APC) a string up
#: to BEL or ST, bounded so that an unterminated one costs no more than its bound;
#: after a lone ESC, a two-character escape. Every sequence starts with an unsafe
#: character, so each pattern starts with a character class (the regex engine
#: then scans fast for that class).
_CSI_TAIL = r"[0-?]{0,64}+[ -/]{0,8}+[@-~]"
_STRING_TAIL = r"[^\x07\x1b\x9c]{0,1024}+(?:\x07|\x1b\\|\x9c)"
_TAIL = (
    rf"(?<=\x1b)(?:\[{_CSI_TAIL}|[\]PX^_]{_STRING_TAIL}|[ -/]{{0,8}}+[0-~])"
    rf"|(?<=\x9b){_CSI_TAIL}"
    rf"|(?<=[\x90\x98\x9d\x9e\x9f]){_STRING_TAIL}"
)
_SEQUENCE = re.compile(rf"[\x1b\x9b\x90\x98\x9d\x9e\x9f](?:{_TAIL})")
_STRIP = re.compile(rf"[{_C0_EXCEPT_TAB_NEWLINE}{_DEL_AND_C1}{_BIDI}](?:{_TAIL})?")
_BIDI_CHAR = re.compile(f"[{_BIDI}]")

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, *, single_line: bool = False) -> str:
    """Text that can be written to a terminal without it acting on any of it.

    Each unsafe code point (see the module docstring) becomes a visible
    escape: ESC is shown as the four characters ``\\x1b``, U+009B as ``\\x9b``,
    U+202E as ``\\u202e``. With ``single_line`` (names, paths, one-line error
    messages) newline, carriage return and tab are escaped too, as ``\\n``,
    ``\\r`` and ``\\t``, so the text stays on its line.

    Backslashes are not doubled, so normal text with backslashes reads as it
    is, and the function is idempotent: escaping escaped text changes nothing.
    """
    pattern = _DISPLAY_LINE if single_line else _DISPLAY
    if pattern.search(text) is None:  # the common case: one fast scan, no copy
        return text
    return pattern.sub(_escape, text)


def has_unsafe(text: str) -> bool:
    """Whether ``strip_unsafe`` would drop anything from ``text``."""
    return _UNSAFE.search(text) is not None


def strip_unsafe(text: str) -> tuple[str, int]:
    """Drop what a model must never learn to emit; return the text and how many were dropped.

    A whole terminal escape sequence counts as one and goes entirely (so
    ``ESC [31m`` does not leave ``[31m`` behind in the text); every other
    unsafe code point is dropped alone. Newline and tab are kept.
    """
    if _UNSAFE.search(text) is None:
        return text, 0
    return _STRIP.subn("", text)


def unsafe_counts(text: str) -> Counter[str]:
    """What ``strip_unsafe`` would drop from ``text``, by kind, for a warning.

    Kinds: ``"escape sequence"``, ``"NUL"``, ``"bidi control"`` and ``"other
    control character"``. A few passes over the text: call it only when
    ``strip_unsafe`` counted something.
    """
    pieces = _STRIP.findall(text)
    singles = "".join(p for p in pieces if len(p) == 1)
    sequences = len(pieces) - len(singles)
    nul = singles.count("\0")
    bidi = len(_BIDI_CHAR.findall(singles))
    other = len(singles) - nul - bidi
    counts = {"escape sequence": sequences, "NUL": nul, "bidi control": bidi, "other control character": other}
    return Counter({kind: n for kind, n in counts.items() if n})


def describe_counts(counts: Mapping[str, int]) -> str:
    """``{"escape sequence": 3, "NUL": 1}`` -> ``"3 escape sequences and 1 NUL"``."""
    parts = [f"{n:,} {kind if n == 1 or kind == 'NUL' else kind + 's'}" for kind, n in counts.items() if n]
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def json_escape(json_text: str) -> str:
    """Escape DEL, C1, bidi controls, U+2028/U+2029 and lone surrogates in JSON text.

    ``json.dumps(..., ensure_ascii=False)`` escapes only the C0 controls.
    Outside strings JSON text is ASCII, so every code point replaced here is
    inside a string, where ``\\uXXXX`` means the same character: the document
    decodes to the same value. Other non-ASCII characters stay literal.
    """
    if _JSON.search(json_text) is None:
        return json_text
    return _JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` with readable non-ASCII text but no raw control characters.

    Accepts the keyword arguments of ``json.dumps`` (``indent``,
    ``sort_keys``...); ``ensure_ascii`` is always False.
    """
    kwargs["ensure_ascii"] = False
    return json_escape(json.dumps(obj, **kwargs))
