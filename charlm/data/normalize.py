"""Text normalisation, recorded with every model so prompts get the same treatment."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass

_SPACES = re.compile(r"[^\S\n]+")


@dataclass(frozen=True)
class Normalization:
    """How raw text becomes model text. Defaults follow the seed study (lower-cased)."""

    lowercase: bool = True
    nfc: bool = True
    collapse_whitespace: bool = True

    def apply(self, text: str) -> str:
        """Normalise one document or prompt."""
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        if self.lowercase:
            text = text.lower()
        if self.collapse_whitespace:
            text = _SPACES.sub(" ", text)
        return text

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)


def fingerprint(text: str, normalization: Normalization) -> str:
    """Identify a normalised corpus in the model cache (same text + options = same id)."""
    h = hashlib.sha256()
    h.update(json.dumps(normalization.to_dict(), sort_keys=True).encode())
    h.update(b"\0")
    h.update(text.encode("utf-8"))
    return h.hexdigest()[:16]
