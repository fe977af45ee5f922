"""Loading a corpus: encodings, paths, folders, stdin, normalisation, samples."""

from __future__ import annotations

import io
import os
import types

import pytest

from charlm.data import samples
from charlm.data.corpus import Corpus, load_corpus
from charlm.data.normalize import Normalization, fingerprint
from charlm.errors import CorpusError

KEEP_CASE = Normalization(lowercase=False)

SRT = "1\n00:00:01,000 --> 00:00:02,000\nHola amigo.\n\n2\n00:00:03,000 --> 00:00:04,000\nAdiós.\n"


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def stdin_bytes(data: bytes):
    return types.SimpleNamespace(buffer=io.BytesIO(data))


# ------------------------------------------------------------------ encodings


def test_cp1252_file_decoded_with_warning(tmp_path):
    path = write(tmp_path / "old.txt", "Canción ¿qué?".encode("cp1252"))
    corpus = load_corpus([path])
    assert corpus.documents == ("canción ¿qué?",)
    assert len(corpus.warnings) == 1
    assert str(path) in corpus.warnings[0]
    assert "cp1252" in corpus.warnings[0]
    assert "not valid UTF-8" in corpus.warnings[0]


def test_cp1252_subtitles_decoded(tmp_path):
    path = write(tmp_path / "old.srt", SRT.encode("cp1252"))
    corpus = load_corpus([path], KEEP_CASE)
    assert corpus.documents == ("Hola amigo.", "Adiós.")
    assert len(corpus.warnings) == 1


def test_byte_undefined_in_cp1252_is_a_c1_control_and_dropped(tmp_path):
    # 0x81 is undefined in cp1252; latin-1 reads it as the C1 control U+0081,
    # which no model may learn, so it is dropped and counted.
    path = write(tmp_path / "odd.txt", b"caf\xe9 \x81ok")
    corpus = load_corpus([path])
    assert corpus.documents == ("café ok",)
    assert len(corpus.warnings) == 2
    assert "cp1252" in corpus.warnings[0]
    assert corpus.warnings[1].startswith("dropped 1 other control character from ")


def test_utf8_file_has_no_warning(tmp_path):
    path = write(tmp_path / "new.txt", "Canción ¿qué?")
    corpus = load_corpus([path])
    assert corpus.documents == ("canción ¿qué?",)
    assert corpus.warnings == ()


def test_binary_file_raises(tmp_path):
    path = write(tmp_path / "blob.txt", b"PK\x03\x04\x00\x00binary\x00data")
    with pytest.raises(CorpusError, match="binary") as info:
        load_corpus([path])
    assert str(path) in str(info.value)


def test_missing_file_raises_naming_the_path(tmp_path):
    path = tmp_path / "nowhere" / "subs.srt"
    with pytest.raises(CorpusError) as info:
        load_corpus([path])
    assert str(path) in str(info.value)
    assert "no such file" in str(info.value)


def test_path_that_is_not_a_regular_file_raises(tmp_path):
    fifo = tmp_path / "pipe.srt"
    os.mkfifo(fifo)
    with pytest.raises(CorpusError) as info:
        load_corpus([fifo])
    assert str(info.value) == f"{fifo}: not a regular file"


def test_no_paths_raises():
    with pytest.raises(CorpusError, match="no corpus given"):
        load_corpus([])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", ""),
        ("blank.txt", "\n\n   \n\t\n"),
        ("empty.srt", ""),
        (
            "stamps.srt",
            "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\n\n",
        ),
        ("tags.srt", "1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n"),
        ("header.vtt", "WEBVTT\n\nNOTE nothing here\n"),
    ],
)
def test_file_without_text_raises_empty(tmp_path, name, content):
    path = write(tmp_path / name, content)
    with pytest.raises(CorpusError, match="empty") as info:
        load_corpus([path])
    assert str(path) in str(info.value)


# -------------------------------------------------------------------- folders


def test_folder_read_recursively_in_sorted_order(tmp_path):
    root = tmp_path / "corpus"
    write(root / "b.txt", "from b")
    write(root / "a.srt", "1\n00:00:01,000 --> 00:00:02,000\nfrom a\n")
    write(root / "sub" / "c.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nfrom sub c\n")
    write(root / "sub" / "deeper" / "d.md", "from deeper d")
    write(root / "z.md", "from z")
    # Not corpus files: ignored.
    write(root / "config.json", '{"a": 1}')
    write(root / "notes.py", "print('x')")
    write(root / "sub" / "image.png", b"\x89PNG\x00\x00")
    write(root / "README", "no suffix")

    corpus = load_corpus([root])
    assert corpus.documents == ("from a", "from b", "from sub c", "from deeper d", "from z")
    assert corpus.sources == tuple(str(root / p) for p in ("a.srt", "b.txt", "sub/c.vtt", "sub/deeper/d.md", "z.md"))
    assert corpus.warnings == ()


def test_folder_suffix_match_ignores_case(tmp_path):
    write(tmp_path / "LOUD.SRT", "1\n00:00:01,000 --> 00:00:02,000\nUpper suffix\n")
    write(tmp_path / "other.TXT", "Plain upper")
    corpus = load_corpus([tmp_path], KEEP_CASE)
    assert corpus.documents == ("Upper suffix", "Plain upper")


def test_folder_file_without_text_is_skipped_with_warning(tmp_path):
    write(tmp_path / "a.txt", "")
    write(tmp_path / "b.txt", "kept")
    corpus = load_corpus([tmp_path])
    assert corpus.documents == ("kept",)
    assert corpus.sources == (str(tmp_path / "b.txt"),)
    assert corpus.warnings == (f"{tmp_path / 'a.txt'}: no text found, skipped",)


def test_empty_folder_raises(tmp_path):
    folder = tmp_path / "nothing"
    folder.mkdir()
    with pytest.raises(CorpusError) as info:
        load_corpus([folder])
    assert str(folder) in str(info.value)


def test_folder_with_only_other_files_raises(tmp_path):
    write(tmp_path / "data.json", "{}")
    write(tmp_path / "movie.mkv", b"\x1a\x45\xdf\xa3")
    with pytest.raises(CorpusError, match="no .srt, .vtt, .txt or .md files"):
        load_corpus([tmp_path])


def test_several_paths_concatenate_in_given_order(tmp_path):
    b = write(tmp_path / "b.txt", "bee")
    a = write(tmp_path / "a.txt", "ay")
    corpus = load_corpus([b, a])
    assert corpus.documents == ("bee", "ay")
    assert corpus.text == "bee\nay"


def test_explicit_file_with_unknown_suffix_is_sniffed(tmp_path):
    path = write(tmp_path / "subs.sub", SRT)
    corpus = load_corpus([path], KEEP_CASE)
    assert corpus.documents == ("Hola amigo.", "Adiós.")


# ---------------------------------------------------------------------- stdin


def test_stdin_srt_is_sniffed(monkeypatch):
    monkeypatch.setattr("sys.stdin", stdin_bytes(SRT.encode("utf-8")))
    corpus = load_corpus(["-"], KEEP_CASE)
    assert corpus.documents == ("Hola amigo.", "Adiós.")
    assert corpus.sources == ("<stdin>",)
    assert corpus.warnings == ()


def test_stdin_vtt_is_sniffed(monkeypatch):
    vtt = "WEBVTT\n\n1\n00:01.000 --> 00:02.000 align:start\n<v Ann>Hi there</v>\n"
    monkeypatch.setattr("sys.stdin", stdin_bytes(vtt.encode("utf-8")))
    corpus = load_corpus(["-"], KEEP_CASE)
    assert corpus.documents == ("Hi there",)


def test_stdin_plain_is_sniffed(monkeypatch):
    monkeypatch.setattr("sys.stdin", stdin_bytes(b"One paragraph.\n\nTwo paragraph."))
    corpus = load_corpus(["-"], KEEP_CASE)
    assert corpus.documents == ("One paragraph.", "Two paragraph.")


def test_stdin_cp1252_warns_about_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", stdin_bytes("Canción ¿qué?".encode("cp1252")))
    corpus = load_corpus(["-"])
    assert corpus.documents == ("canción ¿qué?",)
    assert len(corpus.warnings) == 1
    assert corpus.warnings[0].startswith("<stdin>:")


def test_stdin_without_buffer_reads_text(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Texto simple."))
    corpus = load_corpus(["-"], KEEP_CASE)
    assert corpus.documents == ("Texto simple.",)


def test_stdin_empty_raises(monkeypatch):
    monkeypatch.setattr("sys.stdin", stdin_bytes(b""))
    with pytest.raises(CorpusError, match="empty"):
        load_corpus(["-"])


def test_stdin_mixed_with_files(monkeypatch, tmp_path):
    path = write(tmp_path / "a.txt", "from file")
    monkeypatch.setattr("sys.stdin", stdin_bytes(b"from stdin"))
    corpus = load_corpus([path, "-"])
    assert corpus.documents == ("from file", "from stdin")
    assert corpus.sources == (str(path), "<stdin>")


# -------------------------------------------------------------- normalisation


def test_lowercase_is_the_default(tmp_path):
    path = write(tmp_path / "a.txt", "Hello WORLD, Ñandú")
    assert load_corpus([path]).text == "hello world, ñandú"
    assert Normalization().lowercase is True


def test_lowercase_off_keeps_case(tmp_path):
    path = write(tmp_path / "a.txt", "Hello WORLD, Ñandú")
    assert load_corpus([path], Normalization(lowercase=False)).text == "Hello WORLD, Ñandú"


def test_nfc_composes_decomposed_accents(tmp_path):
    path = write(tmp_path / "a.txt", "cafe\u0301")
    corpus = load_corpus([path])
    assert corpus.text == "caf\u00e9"
    assert len(corpus) == 4


def test_nfc_off_keeps_decomposed_accents(tmp_path):
    path = write(tmp_path / "a.txt", "cafe\u0301")
    corpus = load_corpus([path], Normalization(nfc=False))
    assert corpus.text == "cafe\u0301"
    assert len(corpus) == 5


def test_whitespace_collapsed_but_documents_stay_on_their_own_lines(tmp_path):
    path = write(tmp_path / "a.txt", "  one\t\ttwo   three \u00a0four  \n\n\tfive \t six\t\n")
    corpus = load_corpus([path])
    assert corpus.documents == ("one two three four", "five six")
    assert corpus.text == "one two three four\nfive six"


def test_whitespace_collapse_off_keeps_inner_runs(tmp_path):
    path = write(tmp_path / "a.txt", "one\t\ttwo   three\n\nfour")
    corpus = load_corpus([path], Normalization(collapse_whitespace=False))
    assert corpus.documents == ("one\t\ttwo   three", "four")


def test_normalization_apply_on_a_prompt():
    norm = Normalization()
    assert norm.apply("  He\u0301llo\t\tTHERE  ") == " h\u00e9llo there "
    assert Normalization(lowercase=False, nfc=False, collapse_whitespace=False).apply("A\u0301\t\tB") == "A\u0301\t\tB"


def test_normalization_to_dict():
    assert Normalization(lowercase=False).to_dict() == {
        "lowercase": False,
        "nfc": True,
        "collapse_whitespace": True,
    }


def test_corpus_records_its_normalization(tmp_path):
    path = write(tmp_path / "a.txt", "x")
    norm = Normalization(lowercase=False, collapse_whitespace=False)
    assert load_corpus([path], norm).normalization == norm
    assert load_corpus([path]).normalization == Normalization()


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_equal_for_equal_text_and_options(tmp_path):
    a = write(tmp_path / "a.txt", "Same Text\n\nHere")
    b = write(tmp_path / "other" / "b.md", "same   text\n\n\nhere")
    fa = load_corpus([a]).fingerprint
    fb = load_corpus([b]).fingerprint
    assert fa == fb
    assert len(fa) == 16
    assert int(fa, 16) >= 0


def test_fingerprint_differs_when_options_differ(tmp_path):
    path = write(tmp_path / "a.txt", "already lower case")
    plain = load_corpus([path])
    keep = load_corpus([path], Normalization(lowercase=False))
    assert plain.text == keep.text
    assert plain.fingerprint != keep.fingerprint


def test_fingerprint_differs_when_text_differs(tmp_path):
    a = write(tmp_path / "a.txt", "one text")
    b = write(tmp_path / "b.txt", "one text!")
    assert load_corpus([a]).fingerprint != load_corpus([b]).fingerprint


def test_fingerprint_function_matches_corpus_property():
    norm = Normalization()
    corpus = Corpus(("ab", "cd"), ("x",), norm)
    assert corpus.text == "ab\ncd"
    assert corpus.fingerprint == fingerprint("ab\ncd", norm)
    assert fingerprint("ab\ncd", norm) != fingerprint("abcd", norm)


# -------------------------------------------------------------------- samples


def test_sample_path_unknown_name_lists_available(monkeypatch, tmp_path):
    write(tmp_path / "western.srt", SRT)
    write(tmp_path / "comedy.srt", SRT)
    write(tmp_path / "ignored.txt", "not a sample")
    monkeypatch.setattr(samples, "SAMPLES_DIR", tmp_path)
    assert samples.list_samples() == ["comedy", "western"]
    with pytest.raises(CorpusError) as info:
        samples.sample_path("horror")
    assert str(info.value) == "no sample corpus named 'horror' (available: comedy, western)"


def test_sample_path_known_name(monkeypatch, tmp_path):
    write(tmp_path / "western.srt", SRT)
    monkeypatch.setattr(samples, "SAMPLES_DIR", tmp_path)
    assert samples.sample_path("western") == tmp_path / "western.srt"


def test_sample_path_with_no_samples(monkeypatch, tmp_path):
    monkeypatch.setattr(samples, "SAMPLES_DIR", tmp_path)
    with pytest.raises(CorpusError, match=r"available: none"):
        samples.sample_path("anything")


def test_sample_path_rejects_path_like_names(monkeypatch, tmp_path):
    write(tmp_path / "sub" / "inner.srt", SRT)
    monkeypatch.setattr(samples, "SAMPLES_DIR", tmp_path)
    with pytest.raises(CorpusError):
        samples.sample_path("sub/inner")


# ------------------------------------------------------------- hostile input


def test_control_characters_from_several_files_give_one_warning(tmp_path):
    write(tmp_path / "a.txt", "uno\x1b[31m rojo")
    write(tmp_path / "b.txt", "limpio")
    write(tmp_path / "c.srt", "1\n00:00:01,000 --> 00:00:02,000\ndos\x00 \u202etres\n")
    corpus = load_corpus([tmp_path])
    assert corpus.documents == ("uno rojo", "limpio", "dos tres")
    assert corpus.warnings == (
        f"dropped 1 escape sequence, 1 NUL and 1 bidi control (7 characters) from {tmp_path / 'a.txt'} and "
        f"{tmp_path / 'c.srt'}: no model may learn to write terminal controls",
    )


def test_character_references_cannot_smuggle_controls_into_cues(tmp_path):
    srt = "1\n00:00:01,000 --> 00:00:02,000\nhola &#x202e;che&rlm; &#13;&#10;vos &#27;[31m\n"
    corpus = load_corpus([write(tmp_path / "refs.srt", srt)], KEEP_CASE)
    assert corpus.documents == ("hola che vos [31m",)
    assert len(corpus.warnings) == 1
    assert corpus.warnings[0].startswith("dropped 2 bidi controls from ")


HOSTILE_NAME = "a\x1b]0;pwned\x07\nb\u202e"
SHOWN_NAME = "a\\x1b]0;pwned\\x07\\nb\\u202e"


def test_missing_file_with_a_hostile_name_is_named_safely_on_one_line(tmp_path):
    with pytest.raises(CorpusError) as info:
        load_corpus([tmp_path / HOSTILE_NAME])
    assert str(info.value) == f"{tmp_path}/{SHOWN_NAME}: no such file or folder"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "looks like a binary file, not text"),
        (b"", "no text found"),
        (b"\x1b[31m\x1b]0;title\x07\x1b[0m\n" * 10, "no text found"),
    ],
)
def test_errors_about_a_file_with_a_hostile_name_stay_on_one_line(tmp_path, content, problem):
    path = write(tmp_path / (HOSTILE_NAME + ".txt"), content)
    with pytest.raises(CorpusError) as info:
        load_corpus([path])
    message = str(info.value)
    assert f"{tmp_path}/{SHOWN_NAME}.txt: {problem}" in message
    assert "\n" not in message and "\x1b" not in message


def test_subtitle_file_without_cues_says_what_could_not_be_parsed(tmp_path):
    path = write(tmp_path / "prose.srt", "No es un subtítulo.\nSolo prosa.\n\nOtro párrafo.\n")
    with pytest.raises(CorpusError) as info:
        load_corpus([path])
    assert str(info.value) == (
        f"the corpus is empty: {path}: no subtitle cues found (3 lines, 48 bytes could not be parsed as "
        "SubRip; the first at line 1: 'No es un subtítulo.')"
    )


def test_a_broken_subtitle_file_in_a_folder_is_skipped_with_its_reason(tmp_path):
    write(tmp_path / "a.srt", SRT)
    write(tmp_path / "b.srt", "Subtitles downloaded from\nsomewhere\n")
    corpus = load_corpus([tmp_path], KEEP_CASE)
    assert corpus.documents == ("Hola amigo.", "Adiós.")
    assert corpus.warnings == (
        f"{tmp_path / 'b.srt'}: no subtitle cues found (2 lines, 36 bytes could not be parsed as SubRip; "
        "the first at line 1: 'Subtitles downloaded from'), skipped",
    )


def test_many_empty_files_are_summed_up_on_one_line(tmp_path):
    for name in "abcde":
        write(tmp_path / f"{name}.txt", "\n")
    with pytest.raises(CorpusError) as info:
        load_corpus([tmp_path])
    message = str(info.value)
    assert message.startswith(f"the corpus is empty: {tmp_path / 'a.txt'}: no text found; ")
    assert message.endswith("; and 2 more files with no text")


def test_dropped_controls_in_many_files_name_two_and_count_the_rest(tmp_path):
    for name in "abcde":
        write(tmp_path / f"{name}.txt", f"texto {name}\x00 limpio")
    corpus = load_corpus([tmp_path])
    assert corpus.warnings == (
        f"dropped 5 NUL from {tmp_path / 'a.txt'}, {tmp_path / 'b.txt'} and 3 more files: "
        "no model may learn to write terminal controls",
    )
