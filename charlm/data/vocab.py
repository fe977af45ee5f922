"""Character vocabulary: sorted characters of the corpus plus one unknown symbol.

Encoding is vectorised, because a 100 MB corpus is encoded before every
training run: the text is turned into Unicode code points a slice at a time
(``str.encode("utf-32-le")``, a C loop) and each code point is mapped to its
id through a lookup table indexed by code point. Ids are the smallest unsigned
integer type that holds the vocabulary (one byte per character for up to 256
symbols), so the encoded corpus costs a quarter of int32's memory, and no
temporary ever holds more than one slice of the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from charlm.errors import CorruptModelError

UNK = "\ufffd"
#: Characters turned into code points at a time: bounds the temporaries of
#: :meth:`Vocabulary.encode` and :meth:`Vocabulary.from_text` to a few bytes per
#: character of one slice (4 MiB of UTF-32 for 2**20 characters).
ENCODE_SLICE = 1 << 20
#: Code points run from 0 to U+10FFFF.
CODE_POINTS = 0x110000


def id_dtype(size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids ``0 .. size - 1`` (uint8, uint16 or uint32)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if size <= int(np.iinfo(dtype).max) + 1:
            return np.dtype(dtype)
    raise ValueError(f"no vocabulary has {size} symbols")


def code_point_slices(text: str, size: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, code points of text[start : start + size])`` for consecutive slices
    (``size``: :data:`ENCODE_SLICE` when None).

    ``surrogatepass`` keeps a lone surrogate (which a ``str`` may hold) as its own
    code point, so every character of ``text`` yields exactly one value.
    """
    size = size or ENCODE_SLICE
    for lo in range(0, len(text), size):
        raw = text[lo : lo + size].encode("utf-32-le", "surrogatepass")
        yield lo, np.frombuffer(raw, dtype="<u4")


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray  # the smallest unsigned dtype for the vocabulary (see :func:`id_dtype`)
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
        """The vocabulary of every character in ``text`` (one pass, a slice at a time)."""
        seen = np.zeros(CODE_POINTS, dtype=bool)
        for _, points in code_point_slices(text):
            seen[points] = True
        return cls(chr(c) for c in np.flatnonzero(seen))

    @property
    def unk_id(self) -> int:
        return 0

    @property
    def dtype(self) -> np.dtype:
        """The dtype of encoded ids: the smallest unsigned integer type that holds every id."""
        return id_dtype(len(self.chars))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.chars == other.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    @cached_property
    def _table(self) -> np.ndarray:
        """Id by code point, up to the largest code point of the vocabulary plus one, whose
        entry is 0: code points past the table are clipped onto it and so become unknown."""
        points = np.array([ord(c) for c in self.chars[1:]], dtype=np.int64)
        table = np.zeros(int(points.max(initial=0)) + 2, dtype=self.dtype)
        table[points] = np.arange(1, len(self.chars), dtype=self.dtype)
        return table

    def encode(self, text: str) -> Encoded:
        """Text -> ids; unseen characters become the unknown symbol and are counted.

        A literal unknown symbol in the text is id 0 too, but not counted as unknown.
        """
        ids = np.empty(len(text), dtype=self.dtype)
        table = self._table
        unk_point = ord(UNK)
        unknown = 0
        missing: list[np.ndarray] = []
        for lo, points in code_point_slices(text):
            out = ids[lo : lo + len(points)]
            np.take(table, points, out=out, mode="clip")
            zero = out == 0
            if zero.any():
                miss = points[zero]
                miss = miss[miss != unk_point]
                unknown += len(miss)
                if len(miss):
                    missing.append(np.unique(miss))
        unknown_chars = tuple(chr(c) for c in np.unique(np.concatenate(missing))) if missing else ()
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
