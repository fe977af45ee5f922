"""Bytes to text: byte-order marks, damaged UTF-8, cp1252, and binary files refused."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from charlm.data import corpus
from charlm.data.corpus import load_corpus
from charlm.data.decode import decode_bytes
from charlm.data.normalize import Normalization
from charlm.errors import CorpusError

KEEP_CASE = Normalization(lowercase=False)
SRT = "1\n00:00:01,000 --> 00:00:02,000\nCanción de cuna.\n\n2\n00:00:03,000 --> 00:00:04,000\n¿Qué hacés?\n"


def noise(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def load_bytes(tmp_path, name, raw, normalization=KEEP_CASE):
    path = tmp_path / name
    path.write_bytes(raw)
    return load_corpus([path], normalization)


# ------------------------------------------------------------ byte-order marks


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read(tmp_path, encoding):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}
    raw = bom.get(encoding, b"\x00\x00\xfe\xff") + SRT.replace("\n", "\r\n").encode(encoding)
    corpus = load_bytes(tmp_path, "film.srt", raw)
    assert corpus.documents == ("Canción de cuna.", "¿Qué hacés?")
    assert corpus.warnings == ()


def test_python_utf16_codec_output_is_read(tmp_path):
    # "utf-16" writes the byte-order mark of the machine, as Windows editors do.
    corpus = load_bytes(tmp_path, "notes.txt", "Ñandú y cigüeña.".encode("utf-16"))
    assert corpus.text == "Ñandú y cigüeña."


def test_utf32_le_is_not_mistaken_for_utf16_le():
    # FF FE 00 00 starts with the UTF-16-LE mark FF FE.
    text, warning = decode_bytes(b"\xff\xfe\x00\x00" + "hola".encode("utf-32-le"), "x.txt")
    assert (text, warning) == ("hola", None)


def test_utf8_byte_order_mark_is_removed():
    assert decode_bytes(b"\xef\xbb\xbfhola\r\nche\rvos", "x.txt") == ("hola\nche\nvos", None)


# ------------------------------------------------------------- other encodings


def test_utf8_with_a_few_bad_bytes_keeps_its_accents(tmp_path):
    raw = ("Canción, acción, ñandú, pingüino. " * 3).encode() + b"\xff stray byte"
    corpus = load_bytes(tmp_path, "mostly.txt", raw)
    assert corpus.text.startswith("Canción, acción, ñandú, pingüino.")
    assert corpus.text.endswith(" stray byte")
    assert len(corpus.warnings) == 1
    assert "dropped 1 byte that is not valid UTF-8 (the first at byte 117)" in corpus.warnings[0]
    assert str(tmp_path / "mostly.txt") in corpus.warnings[0]


def test_cp1252_quotes_survive_a_byte_cp1252_leaves_undefined(tmp_path):
    raw = "\u201cHola\u201d, dijo \u2014 caf\u00e9".encode("cp1252") + b" \x81fin"
    corpus = load_bytes(tmp_path, "old.txt", raw)
    assert corpus.text == "\u201cHola\u201d, dijo \u2014 caf\u00e9 fin"
    assert any("cp1252" in w for w in corpus.warnings)
    assert any("dropped 1 other control character" in w for w in corpus.warnings)


# --------------------------------------------------------- control characters


def test_nul_and_controls_far_into_a_text_file_are_dropped_not_called_binary(tmp_path):
    prose = "Una línea de texto normal, con acentos.\n" * 600  # ~24 KB
    raw = prose.encode() + b"antes\x00despu\x00\x00es \x1b[1mnegrita\x1b[0m \x07fin\n"
    corpus = load_bytes(tmp_path, "long.txt", raw)
    assert corpus.text.endswith("antesdespues negrita fin")
    assert corpus.warnings == (
        f"dropped 2 escape sequences, 3 NUL and 1 other control character (12 characters) from "
        f"{tmp_path / 'long.txt'}: no model may learn to write terminal controls",
    )


def test_text_full_of_escape_sequences_is_text_not_binary(tmp_path):
    raw = ("\x1b]0;pwned\x07\x1b[31mrojo\x1b[0m y \x9b2J nada\n" * 200).encode()
    corpus = load_bytes(tmp_path, "hostile.txt", raw)
    assert corpus.text == ("rojo y nada " * 200).strip()
    assert len(corpus.warnings) == 1
    assert corpus.warnings[0].startswith("dropped 800 escape sequences (")


def test_cp1252_text_with_escape_sequences_is_text(tmp_path):
    raw = ("Canci\u00f3n \x1b[31mroja\x1b[0m \x1b]0;t\x07\n".encode("cp1252")) * 50
    corpus = load_bytes(tmp_path, "old.txt", raw)
    assert corpus.text == ("Canci\u00f3n roja " * 50).strip()


# -------------------------------------------------------------- binary files


def tar_of_text() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"hola che\n" * 20
        info = tarfile.TarInfo("a.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_of_text() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "hola che, ¿qué tal? " * 200)
    return buf.getvalue()


BINARIES = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise(4000),
    "zip header + noise": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + noise(4000, 1),
    "real zip": zip_of_text(),
    "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + noise(3000, 2) + b"\x00" * 2000,
    "gzip": gzip.compress(("hola che, ¿qué tal? " * 500).encode(), mtime=0),
    "random bytes": noise(8000, 3),
    "zeros": b"\x00" * 4096,
    "tar": tar_of_text(),
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + noise(4000, 4),
    "utf-8 bom + noise": b"\xef\xbb\xbf" + noise(4000, 5),
    "utf-16 bom + noise": b"\xff\xfe" + noise(4000, 6),
    "utf-32 bom + noise": b"\x00\x00\xfe\xff" + noise(4000, 7),
    "tiny nul-separated": b"PK\x03\x04\x00\x00binary\x00data",
}


@pytest.mark.parametrize("raw", BINARIES.values(), ids=BINARIES.keys())
def test_binary_files_are_refused_naming_the_file(tmp_path, raw):
    path = tmp_path / "corpus.txt"
    path.write_bytes(raw)
    with pytest.raises(CorpusError) as info:
        load_corpus([path])
    message = str(info.value)
    assert message.startswith(f"{path}: looks like a binary file, not text")
    assert "\n" not in message


def test_utf16_without_a_byte_order_mark_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "nobom.txt"
    path.write_bytes("Hola, ¿qué tal? Todo bien.\n".encode("utf-16-le") * 20)
    with pytest.raises(CorpusError) as info:
        load_corpus([path])
    assert str(info.value) == (
        f"{path}: looks like a binary file, not text (UTF-16 without a byte-order mark? save it as UTF-8)"
    )


def test_a_declared_encoding_that_does_not_decode_says_where():
    with pytest.raises(CorpusError, match=r"UTF-16-LE byte-order mark but byte 4 is not valid UTF-16-LE"):
        decode_bytes(b"\xff\xfeh\x00i", "odd.txt")


def test_empty_file_decodes_to_nothing():
    assert decode_bytes(b"", "empty.txt") == ("", None)


def test_a_large_binary_file_is_refused_from_its_first_bytes(tmp_path, monkeypatch):
    path = tmp_path / "movie.srt"
    path.write_bytes(BINARIES["png"] + SRT.encode() * 100)
    monkeypatch.setattr(corpus, "SNIFF_ABOVE", 1000)
    monkeypatch.setattr(corpus, "SNIFF_BYTES", 500)

    def read_whole(self):
        raise AssertionError("a binary file was read whole")

    monkeypatch.setattr(Path, "read_bytes", read_whole)
    with pytest.raises(CorpusError, match="looks like a binary file"):
        load_corpus([path])


def test_a_large_text_file_passes_the_first_bytes_check(tmp_path, monkeypatch):
    path = tmp_path / "film.srt"
    path.write_bytes(("\u201cCanci\u00f3n\u201d\n" * 40 + SRT).encode() * 20)
    monkeypatch.setattr(corpus, "SNIFF_ABOVE", 100)
    monkeypatch.setattr(corpus, "SNIFF_BYTES", 333)  # cuts a character in two
    assert len(load_corpus([path]).documents) == 40


@pytest.mark.parametrize("raw", [b"hola\x00mundo\n", b"\x00hola\n", b"hola\x01\x02mundo"])
def test_a_short_text_with_a_stray_control_byte_is_text(tmp_path, raw):
    corpus = load_bytes(tmp_path, "short.txt", raw)
    assert corpus.text in ("holamundo", "hola")
    assert len(corpus.warnings) == 1
