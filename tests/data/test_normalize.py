"""Normalisation options: byte-exact text, JSON round trips, fingerprints that never move."""

from __future__ import annotations

import json

import pytest

from charlm.data.corpus import load_corpus
from charlm.data.normalize import Normalization, fingerprint
from charlm.errors import ConfigError, CorpusError

EXACT = Normalization.exact()

#: Fingerprints of ``"hola che\nqué tal"`` computed before ``byte_exact`` existed:
#: models stored since then must still be found in the cache.
PINNED = [
    ({}, "6a5d013e2e039384"),
    ({"lowercase": False}, "cce33190a86c7c4a"),
    ({"lowercase": False, "nfc": False, "collapse_whitespace": False}, "295caccba5861b1f"),
]


@pytest.mark.parametrize(("options", "expected"), PINNED)
def test_fingerprints_of_existing_normalisations_do_not_change(options, expected):
    assert fingerprint("hola che\nqué tal", Normalization(**options)) == expected


def test_apply_of_existing_normalisations_does_not_change():
    text = "  He\u0301llo\t\tTHERE \u00a0 x\u3000\u3000y\r\x0bz"
    assert Normalization().apply(text) == " h\u00e9llo there x y z"
    assert Normalization(lowercase=False).apply(text) == " H\u00e9llo THERE x y z"
    assert Normalization(collapse_whitespace=False).apply(text) == text.lower().replace("e\u0301", "\u00e9")


def test_exact_keeps_everything_as_it_is():
    assert EXACT == Normalization(lowercase=False, nfc=False, collapse_whitespace=False, byte_exact=True)
    text = "  He\u0301llo\t\tTHERE  \n\n\n"
    assert EXACT.apply(text) == text


@pytest.mark.parametrize("option", ["lowercase", "nfc", "collapse_whitespace"])
def test_exact_cannot_be_combined_with_a_change_to_the_text(option):
    options = {"lowercase": False, "nfc": False, "collapse_whitespace": False, option: True}
    with pytest.raises(ConfigError, match="byte-exact"):
        Normalization(**options, byte_exact=True)


def test_json_of_existing_normalisations_has_no_new_key():
    assert Normalization().to_dict() == {"lowercase": True, "nfc": True, "collapse_whitespace": True}


def test_exact_round_trips_through_json():
    data = json.loads(json.dumps(EXACT.to_dict()))
    assert data == {"lowercase": False, "nfc": False, "collapse_whitespace": False, "byte_exact": True}
    assert Normalization.from_dict(data) == EXACT


def test_old_json_loads_with_the_same_meaning():
    old = {"lowercase": False, "nfc": True, "collapse_whitespace": True}
    assert Normalization.from_dict(old) == Normalization(lowercase=False)
    assert Normalization.from_dict(old).byte_exact is False


def test_exact_fingerprint_differs_from_no_normalisation():
    none = Normalization(lowercase=False, nfc=False, collapse_whitespace=False)
    assert fingerprint("x", EXACT) != fingerprint("x", none)


# ------------------------------------------------------- byte-exact corpora


def test_exact_plain_file_is_what_open_reads(tmp_path):
    raw = "\ufeffFirst  LINE\r\n\r\n\r\n  indented\thard\nwrapped\rline  \n\nCafe\u0301 \u00a0end\n\n"
    path = tmp_path / "input.txt"
    path.write_bytes(raw.encode("utf-8"))
    corpus = load_corpus([path], EXACT)
    assert corpus.text == open(path, encoding="utf-8-sig").read()  # noqa: SIM115 - what nanoGPT does
    assert corpus.documents == (corpus.text,)
    assert corpus.warnings == ()


def test_exact_still_drops_control_characters(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes("Hola \x1b[31mrojo\x1b[0m\x00 y\u202e fin\n".encode())
    corpus = load_corpus([path], EXACT)
    assert corpus.text == "Hola rojo y fin\n"
    assert len(corpus.warnings) == 1


def test_exact_plain_files_are_concatenated_like_cat(tmp_path):
    (tmp_path / "a.txt").write_text("Uno.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("  Dos\n\n", encoding="utf-8")
    corpus = load_corpus([tmp_path], EXACT)
    assert corpus.text == "Uno.\n  Dos\n\n"


def test_exact_subtitles_are_still_read_as_cues_but_keep_case(tmp_path):
    path = tmp_path / "film.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\n<i>Hola</i>  AMIGO.\n", encoding="utf-8")
    assert load_corpus([path], EXACT).documents == ("Hola  AMIGO.",)


def test_exact_whitespace_only_file_has_no_text(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no text found"):
        load_corpus([path], EXACT)
