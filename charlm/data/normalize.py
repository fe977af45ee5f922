"""Text normalisation, recorded with every model so prompts get the same treatment."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass

from charlm.errors import ConfigError

#: Whitespace other than newline (exactly ``[^\S\n]``, spelt out), without and with the space.
_WS_NOT_SPACE = "\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Collapsing whitespace in two passes gives what ``re.sub(r"[^\S\n]+", " ", text)``
#: gives, several times faster on long texts: each pattern starts with what is rare
#: (a character class without the space, or two spaces), which the regex engine
#: scans for quickly, instead of stopping at every single space.
_ODD_SPACE = re.compile(f"[{_WS_NOT_SPACE}][{_WS_NOT_SPACE} ]*")
_SPACE_RUN = re.compile("  +")


@dataclass(frozen=True)
class Normalization:
    """How raw text becomes model text. Defaults follow the seed study (lower-cased).

    ``byte_exact`` keeps the text exactly as it is read, the way nanoGPT's data
    preparation reads a file (``open(path, encoding="utf-8-sig").read()``):
    no lower-casing, no NFC, no whitespace collapsing, and a plain-text file is
    one document (no paragraph splitting, no joining of hard-wrapped lines, no
    stripping). Universal newlines and the removal of a byte-order mark still
    apply, as with ``open``; the one exception is that control characters
    are still dropped (see :mod:`charlm.data.sanitize`). Subtitle files are
    still read as cues (their timestamps and markup are not text).
    Build it with :meth:`exact`; it cannot be combined with the other options.
    """

    lowercase: bool = True
    nfc: bool = True
    collapse_whitespace: bool = True
    byte_exact: bool = False

    def __post_init__(self) -> None:
        if self.byte_exact and (self.lowercase or self.nfc or self.collapse_whitespace):
            raise ConfigError("byte-exact text cannot also be lower-cased, NFC-normalised or whitespace-collapsed")

    @classmethod
    def exact(cls) -> Normalization:
        """Text kept exactly as read (see the class docstring)."""
        return cls(lowercase=False, nfc=False, collapse_whitespace=False, byte_exact=True)

    def apply(self, text: str) -> str:
        """Normalise one document or prompt."""
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        if self.lowercase:
            text = text.lower()
        if self.collapse_whitespace:
            text = _SPACE_RUN.sub(" ", _ODD_SPACE.sub(" ", text))
        return text

    def to_dict(self) -> dict[str, bool]:
        """The options as JSON. ``byte_exact`` appears only when set, so the
        object (and the corpus fingerprint made from it) of every other
        normalisation is what it was before the option existed."""
        data = asdict(self)
        if not self.byte_exact:
            del data["byte_exact"]
        return data

    @classmethod
    def from_dict(cls, data: object) -> Normalization:
        """Strict reading of :meth:`to_dict`'s object (missing keys take their defaults).

        Raises:
            ConfigError: not an object, unknown keys, or values that are not booleans.
        """
        from charlm.errors import ConfigError

        if not isinstance(data, dict):
            raise ConfigError(f"normalization must be a JSON object (got {type(data).__name__})")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(f"unknown normalization keys: {', '.join(unknown)}")
        bad = sorted(k for k, v in data.items() if not isinstance(v, bool))
        if bad:
            raise ConfigError(f"normalization {bad[0]} must be true or false")
        return cls(**data)


def fingerprint(text: str, normalization: Normalization) -> str:
    """Identify a normalised corpus in the model cache (same text + options = same id)."""
    h = hashlib.sha256()
    h.update(json.dumps(normalization.to_dict(), sort_keys=True).encode())
    h.update(b"\0")
    h.update(text.encode("utf-8"))
    return h.hexdigest()[:16]
