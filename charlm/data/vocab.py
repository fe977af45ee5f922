"""Character vocabulary: sorted characters of the corpus plus one unknown symbol."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from charlm.errors import CorruptModelError

UNK = "\ufffd"


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray
    unknown: int  # how many characters mapped to the unknown symbol
    unknown_chars: tuple[str, ...]


class Vocabulary:
    """Maps characters to ids; id 0 is the unknown symbol."""

    def __init__(self, chars: Iterable[str]):
        chars = sorted(set(chars) - {UNK})
        self.chars: tuple[str, ...] = (UNK, *chars)
        self._index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls(set(text))

    @property
    def unk_id(self) -> int:
        return 0

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.chars == other.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def encode(self, text: str) -> Encoded:
        """Text -> ids; unseen characters become the unknown symbol and are counted."""
        index = self._index
        ids = np.fromiter((index.get(c, 0) for c in text), dtype=np.int32, count=len(text))
        unknown_chars = tuple(sorted({c for c in text if c not in index}))
        unknown = int(np.count_nonzero(ids == 0)) - text.count(UNK) if unknown_chars else 0
        return Encoded(ids, unknown, unknown_chars)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        chars = self.chars
        return "".join(chars[int(i)] for i in ids)

    def to_json(self) -> dict:
        return {"chars": list(self.chars[1:]), "unk": UNK}

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        try:
            chars = data["chars"]
            if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
                raise TypeError
        except (KeyError, TypeError):
            raise CorruptModelError("vocabulary is malformed") from None
        vocab = cls(chars)
        if vocab.chars[1:] != tuple(chars):
            raise CorruptModelError("vocabulary is not sorted or has duplicate characters")
        return vocab
