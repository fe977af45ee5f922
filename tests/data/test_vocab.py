"""Character vocabulary: ids, unknown characters, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charlm.data.vocab import UNK, Vocabulary
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
    assert enc.ids.dtype == np.int32
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
