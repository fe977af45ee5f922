"""Character vocabulary: ids, unknown characters, small id dtypes, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charlm.data import vocab as vocab_module
from charlm.data.vocab import UNK, Vocabulary, id_dtype
from charlm.errors import CorruptModelError


def test_sorted_chars_with_unknown_at_id_zero():
    vocab = Vocabulary.from_text("hola, mundo")
    assert vocab.chars == (UNK, " ", ",", "a", "d", "h", "l", "m", "n", "o", "u")
    assert vocab.unk_id == 0
    assert vocab.chars[0] == "\ufffd"
    assert len(vocab) == 11


def test_unknown_symbol_in_the_text_is_not_duplicated():
    vocab = Vocabulary(["b", UNK, "a", "a"])
    assert vocab.chars == (UNK, "a", "b")


def test_contains_and_equality():
    a = Vocabulary.from_text("abc")
    b = Vocabulary("cba")
    assert a == b
    assert hash(a) == hash(b)
    assert a != Vocabulary.from_text("abd")
    assert a != ("\ufffd", "a", "b", "c")
    assert "a" in a
    assert "z" not in a


def test_encode_ids_and_decode_round_trip():
    text = "el niño\ncantó"
    vocab = Vocabulary.from_text(text)
    enc = vocab.encode(text)
    assert enc.ids.tolist() == [vocab.chars.index(c) for c in text]
    assert enc.ids.dtype == np.uint8
    assert enc.unknown == 0
    assert enc.unknown_chars == ()
    assert vocab.decode(enc.ids) == text
    assert vocab.decode(enc.ids.tolist()) == text


def test_encode_exact_ids():
    vocab = Vocabulary.from_text("cab")
    assert vocab.encode("abcab").ids.tolist() == [1, 2, 3, 1, 2]
    assert vocab.decode([3, 2, 1, 0]) == "cba" + UNK


def test_unseen_characters_map_to_unknown_and_are_counted():
    vocab = Vocabulary.from_text("abc ")
    enc = vocab.encode("a zebra! zz")
    assert vocab.chars == (UNK, " ", "a", "b", "c")
    assert enc.ids.tolist() == [2, 1, 0, 0, 3, 0, 2, 0, 1, 0, 0]
    assert enc.unknown == 6
    assert enc.unknown_chars == ("!", "e", "r", "z")
    assert vocab.decode(enc.ids) == f"a {UNK}{UNK}b{UNK}a{UNK} {UNK}{UNK}"


def test_literal_unknown_symbol_is_not_counted_as_unknown():
    vocab = Vocabulary.from_text("ab")
    enc = vocab.encode(f"a{UNK}b")
    assert enc.ids.tolist() == [1, 0, 2]
    assert enc.unknown == 0
    assert enc.unknown_chars == ()
    enc = vocab.encode(f"{UNK}x")
    assert enc.unknown == 1
    assert enc.unknown_chars == ("x",)


def test_encode_empty_text():
    enc = Vocabulary.from_text("ab").encode("")
    assert enc.ids.tolist() == []
    assert enc.unknown == 0
    assert enc.unknown_chars == ()


# ------------------------------------------------- vectorised = naive encoding

#: Characters a per-character loop and a code-point table could disagree on: a
#: non-BMP emoji (two UTF-16 units, one character), combining accents (their own
#: characters, never merged), a lone surrogate, the last code point, NUL, the
#: unknown symbol itself, and characters outside the vocabulary.
TRICKY = "e\u0301 😀 n\u0303a\ud800 \U0010ffff\x00 " + UNK + " 𝄞ñ"


def naive_encode(vocab: Vocabulary, text: str) -> tuple[list[int], int, tuple[str, ...]]:
    """The specification: one dictionary lookup per character."""
    ids = [vocab.chars.index(c) if c in vocab else 0 for c in text]
    unknown = [c for c in text if c not in vocab]
    return ids, len(unknown), tuple(sorted(set(unknown)))


@pytest.mark.parametrize("slice_size", [1, 3, 7, 1 << 20])
def test_encode_equals_the_naive_encoding_on_tricky_text(monkeypatch, slice_size):
    monkeypatch.setattr(vocab_module, "ENCODE_SLICE", slice_size)  # slices cut through everything
    vocab = Vocabulary.from_text(TRICKY)
    assert set(vocab.chars) == set(TRICKY)
    assert "😀" in vocab and "\u0301" in vocab and "\ud800" in vocab
    text = TRICKY + "zebra ☃ 🐍" + TRICKY[::-1] + "\U0001F601"
    enc = vocab.encode(text)
    ids, unknown, unknown_chars = naive_encode(vocab, text)
    assert enc.ids.tolist() == ids
    assert enc.unknown == unknown == 6
    assert enc.unknown_chars == unknown_chars == ("b", "r", "z", "☃", "🐍", "😁")
    assert vocab.decode(enc.ids) == "".join(c if c in vocab else UNK for c in text)


def test_from_text_equals_the_set_of_characters(monkeypatch):
    monkeypatch.setattr(vocab_module, "ENCODE_SLICE", 5)
    rng = np.random.default_rng(0)
    alphabet = list("abc ñ\n") + ["😀", "\u0301", "\U0010ffff", UNK]
    text = "".join(rng.choice(alphabet, size=500))
    assert Vocabulary.from_text(text) == Vocabulary(set(text))
    assert Vocabulary.from_text("").chars == (UNK,)
    assert Vocabulary.from_text("").encode("ab").ids.tolist() == [0, 0]


@pytest.mark.parametrize(("size", "dtype"), [(1, np.uint8), (256, np.uint8), (257, np.uint16),
                                             (65536, np.uint16), (65537, np.uint32)])
def test_ids_use_the_smallest_unsigned_dtype(size, dtype):
    assert id_dtype(size) == np.dtype(dtype)


def test_large_vocabularies_encode_exactly_in_wider_dtypes():
    for count, dtype in ((300, np.uint16), (70_000, np.uint32)):
        chars = "".join(chr(0x10000 + i) for i in range(count))  # all outside the BMP
        vocab = Vocabulary.from_text(chars)
        enc = vocab.encode(chars[::-1] + "a")
        assert enc.ids.dtype == dtype == vocab.dtype
        assert enc.ids.tolist() == list(range(count, 0, -1)) + [0]
        assert (enc.unknown, enc.unknown_chars) == (1, ("a",))


def test_encoding_memory_is_the_ids_plus_one_slice(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(vocab_module, "ENCODE_SLICE", 1 << 14)
    text = "hola che, ¿qué tal? " * 50_000  # a million characters
    vocab = Vocabulary.from_text(text)
    tracemalloc.start()
    try:
        enc = vocab.encode(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert enc.ids.nbytes == len(text)  # one byte per character
    # The ids plus a few bytes per character of one slice; no 4-byte copy of the whole text.
    assert peak < len(text) + 16 * (1 << 14) + 100_000


def test_json_round_trip():
    vocab = Vocabulary.from_text("¿Qué tal?\nbien")
    data = vocab.to_json()
    assert data == {
        "chars": ["\n", " ", "?", "Q", "a", "b", "e", "i", "l", "n", "t", "u", "¿", "é"],
        "unk": UNK,
    }
    restored = Vocabulary.from_json(json.loads(json.dumps(data)))
    assert restored == vocab
    assert restored.chars == vocab.chars
    assert restored.encode("qué").ids.tolist() == vocab.encode("qué").ids.tolist()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"characters": ["a"]},
        {"chars": "abc"},
        {"chars": None},
        {"chars": ["a", "bc"]},
        {"chars": ["a", ""]},
        {"chars": ["a", 1]},
        ["a", "b"],
        None,
        "abc",
    ],
    ids=[
        "no-chars",
        "wrong-key",
        "string",
        "null",
        "multi-char",
        "empty-char",
        "non-string",
        "list",
        "none",
        "str",
    ],
)
def test_from_json_rejects_malformed(data):
    with pytest.raises(CorruptModelError, match="malformed"):
        Vocabulary.from_json(data)


@pytest.mark.parametrize(
    "chars",
    [["b", "a"], ["a", "a", "b"], ["a", "c", "b"], ["a", UNK]],
    ids=["unsorted", "duplicate", "partly-unsorted", "contains-unk"],
)
def test_from_json_rejects_unsorted_or_duplicate(chars):
    with pytest.raises(CorruptModelError, match="not sorted or has duplicate"):
        Vocabulary.from_json({"chars": chars, "unk": UNK})
