"""Subtitle and text parsers: what ends up as documents (one per cue / paragraph)."""

from __future__ import annotations

import io
import types

import pytest

from charlm.data.corpus import load_corpus
from charlm.data.formats import parse_plain, parse_srt, parse_vtt, read_srt, read_vtt, sniff_format
from charlm.data.normalize import Normalization

KEEP_CASE = Normalization(lowercase=False)


def load_file(tmp_path, name, content, normalization=KEEP_CASE):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return load_corpus([path], normalization)


SIMPLE_SRT = """1
00:00:01,000 --> 00:00:02,500
Hello there.

2
00:00:03,000 --> 00:00:04,000
General Kenobi!
"""


# --------------------------------------------------------------------- SubRip


def test_srt_drops_index_and_timestamp_lines():
    assert parse_srt(SIMPLE_SRT) == ["Hello there.", "General Kenobi!"]


def test_srt_one_document_per_cue_lines_joined_by_space():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nWhere are you\ngoing tonight?\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nHome.\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\nOne\ntwo\nthree\n"
    )
    assert parse_srt(text) == ["Where are you going tonight?", "Home.", "One two three"]


def test_srt_speaker_dashes_removed():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\n- Are you coming?\n- No.\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n-Why not?\n\u2014 Because.\n"
    )
    assert parse_srt(text) == ["Are you coming? No.", "Why not? Because."]


def test_srt_dash_inside_a_line_is_kept():
    text = "1\n00:00:01,000 --> 00:00:02,000\nWell - maybe, half-past ten.\n"
    assert parse_srt(text) == ["Well - maybe, half-past ten."]


def test_srt_runs_of_blank_lines():
    text = "\n\n\n1\n00:00:01,000 --> 00:00:02,000\nFirst\n\n\n\n\n2\n00:00:03,000 --> 00:00:04,000\nSecond\n\n\n\n"
    assert parse_srt(text) == ["First", "Second"]


def test_srt_blank_line_inside_a_cue_keeps_one_cue():
    text = "1\n00:00:01,000 --> 00:00:02,000\nfirst line\n\nsecond line\n\n2\n00:00:03,000 --> 00:00:04,000\nnext cue\n"
    assert parse_srt(text) == ["first line second line", "next cue"]


def test_srt_missing_blank_line_between_cues():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nNo gap here\n"
        "2\n00:00:03,000 --> 00:00:04,000\nSecond cue\n"
        "3\n00:00:05,000 --> 00:00:06,000\nThird cue\n"
    )
    assert parse_srt(text) == ["No gap here", "Second cue", "Third cue"]


def test_srt_markup_tags_and_ass_codes_stripped():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\n<i>Italic</i> and <b>bold</b>\n\n"
        '2\n00:00:03,000 --> 00:00:04,000\n<font color="#ffff00">Yellow</font> words\n\n'
        "3\n00:00:05,000 --> 00:00:06,000\n{\\an8}Top of the screen\n\n"
        "4\n00:00:07,000 --> 00:00:08,000\n<i>- {\\i1}Mixed</i> <u>tags</u>\n"
    )
    assert parse_srt(text) == [
        "Italic and bold",
        "Yellow words",
        "Top of the screen",
        "Mixed tags",
    ]


def test_srt_html_entities_unescaped():
    text = "1\n00:00:01,000 --> 00:00:02,000\nTom &amp; Jerry &lt;3 &quot;cats&quot; &#233;t&eacute;\n"
    assert parse_srt(text) == ['Tom & Jerry <3 "cats" été']


def test_srt_cues_without_text_skipped():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nSpoken\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\n<i></i>\n\n"
        "4\n00:00:07,000 --> 00:00:08,000\n{\\an8}<b> </b>\n\n"
        "5\n00:00:09,000 --> 00:00:10,000\n-\n\n"
        "6\n00:00:11,000 --> 00:00:12,000\nAfter the gaps\n"
    )
    assert parse_srt(text) == ["Spoken", "After the gaps"]


def test_srt_cue_whose_text_is_a_number_is_kept():
    text = (
        "4\n00:00:04,000 --> 00:00:05,000\n5\n\n"
        "5\n00:00:06,000 --> 00:00:07,000\nCounting down\n\n"
        "6\n00:00:08,000 --> 00:00:09,000\n3\n2\n1\n"
    )
    assert parse_srt(text) == ["5", "Counting down", "3 2 1"]


def test_srt_number_text_then_next_cue_without_blank_line():
    text = "1\n00:00:01,000 --> 00:00:02,000\n42\n2\n00:00:03,000 --> 00:00:04,000\nthe answer\n"
    assert parse_srt(text) == ["42", "the answer"]


def test_srt_dot_milliseconds_and_position_coordinates():
    text = "1\n00:00:01.000 --> 00:00:02.000 X1:100 X2:200 Y1:10 Y2:20\nStill a cue\n"
    assert parse_srt(text) == ["Still a cue"]


def test_srt_file_with_utf8_bom(tmp_path):
    corpus = load_file(tmp_path, "bom.srt", b"\xef\xbb\xbf" + SIMPLE_SRT.encode("utf-8"))
    assert corpus.documents == ("Hello there.", "General Kenobi!")
    assert corpus.warnings == ()


def test_srt_file_with_crlf(tmp_path):
    corpus = load_file(tmp_path, "crlf.srt", SIMPLE_SRT.replace("\n", "\r\n"))
    assert corpus.documents == ("Hello there.", "General Kenobi!")
    assert corpus.text == "Hello there. General Kenobi!"


def test_srt_file_with_lone_cr(tmp_path):
    corpus = load_file(tmp_path, "mac.srt", SIMPLE_SRT.replace("\n", "\r"))
    assert corpus.documents == ("Hello there.", "General Kenobi!")
    assert "\r" not in corpus.text


def test_srt_file_with_crlf_and_multiline_cue(tmp_path):
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\n- One\r\n- Two\r\n\r\n\r\n"
    corpus = load_file(tmp_path, "multi.srt", text)
    assert corpus.documents == ("One Two",)


# --------------------------------------------------------------------- WebVTT

VTT = """WEBVTT - A film
Kind: captions
Language: en

NOTE This is a comment
spanning two lines

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:04.000 align:start position:10%
<v Roger Bingham>We are in New York City</v>

2
00:00:05.000 --> 00:00:06.500
<v.loud Anna>- Hi!</v>
<c.yellow>Bye</c> <00:00:06.000>now

00:00:07.000 --> 00:00:08.000 line:0 size:50%
No identifier &amp; settings
"""


def test_vtt_header_notes_styles_ids_settings_and_voices():
    assert parse_vtt(VTT) == [
        "We are in New York City",
        "Hi! Bye now",
        "No identifier & settings",
    ]


def test_vtt_region_block_dropped():
    text = "WEBVTT\n\nREGION\nid:fred\nwidth:40%\n\n00:00.000 --> 00:01.000 region:fred\nRegional\n"
    assert parse_vtt(text) == ["Regional"]


def test_vtt_short_timestamps():
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\nShort\n\n01:02.500 --> 01:03.000\nAlso short\n"
    assert parse_vtt(text) == ["Short", "Also short"]


def test_vtt_cue_without_text_skipped():
    text = "WEBVTT\n\n1\n00:01.000 --> 00:02.000\n<v Bob></v>\n\n2\n00:03.000 --> 00:04.000\nSaid\n"
    assert parse_vtt(text) == ["Said"]


def test_vtt_file_with_bom_and_crlf(tmp_path):
    raw = b"\xef\xbb\xbf" + VTT.replace("\n", "\r\n").encode("utf-8")
    corpus = load_file(tmp_path, "film.vtt", raw)
    assert corpus.documents == (
        "We are in New York City",
        "Hi! Bye now",
        "No identifier & settings",
    )


# ---------------------------------------------------------------- plain text


def test_plain_paragraphs_are_documents():
    text = "\n\nFirst paragraph.\n\n\n  Second one.  \n \nThird.\n\n"
    assert parse_plain(text) == ["First paragraph.", "Second one.", "Third."]


def test_txt_and_md_files_read_as_paragraphs(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha one.\n\nAlpha two.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Title\n\nBody text.\n", encoding="utf-8")
    corpus = load_corpus([tmp_path / "a.txt", tmp_path / "b.md"], KEEP_CASE)
    assert corpus.documents == ("Alpha one.", "Alpha two.", "# Title", "Body text.")
    assert corpus.text == "Alpha one.\nAlpha two.\n# Title\nBody text."


def test_txt_file_containing_timestamps_is_not_parsed_as_srt(tmp_path):
    corpus = load_file(tmp_path, "notes.txt", SIMPLE_SRT)
    assert len(corpus.documents) == 2
    assert "00:00:01,000 --> 00:00:02,500" in corpus.text
    assert corpus.documents[0].startswith("1")


# ------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SIMPLE_SRT, "srt"),
        (VTT, "vtt"),
        ("\n\nWEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", "vtt"),
        ("Just some prose.\n\nAnother paragraph.", "plain"),
        ("", "plain"),
    ],
)
def test_sniff_format(text, expected):
    assert sniff_format(text) == expected


def _stdin(data: bytes):
    return types.SimpleNamespace(buffer=io.BytesIO(data))


def test_stdin_srt_with_lone_cr_is_sniffed_as_srt(monkeypatch):
    monkeypatch.setattr("sys.stdin", _stdin(SIMPLE_SRT.replace("\n", "\r").encode()))
    corpus = load_corpus(["-"], KEEP_CASE)
    assert corpus.documents == ("Hello there.", "General Kenobi!")


def test_stdin_srt_with_crlf_is_sniffed_as_srt(monkeypatch):
    monkeypatch.setattr("sys.stdin", _stdin(SIMPLE_SRT.replace("\n", "\r\n").encode()))
    corpus = load_corpus(["-"], KEEP_CASE)
    assert corpus.documents == ("Hello there.", "General Kenobi!")


def test_unknown_suffix_srt_with_lone_cr_is_sniffed_as_srt(tmp_path):
    corpus = load_file(tmp_path, "film.sub", SIMPLE_SRT.replace("\n", "\r"))
    assert corpus.documents == ("Hello there.", "General Kenobi!")


# ------------------------------------------------------------ broken subtitles


def test_srt_malformed_timings_keep_their_text_and_are_counted():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nHola.\n\n"
        "2\n00;00;03,000 -> 00;00;04,000\nChau.\n\n"
        "3\n00:00:05 - 00:00:06\nFin.\n"
    )
    parsed = read_srt(text)
    assert parsed.documents == ["Hola.", "Chau.", "Fin."]
    assert parsed.warnings("f.srt") == [
        "f.srt: 2 of 3 cue timings are malformed (the first at line 6: '00;00;03,000 -> 00;00;04,000'); "
        "the text of those cues was kept"
    ]


def test_srt_text_before_the_first_cue_is_counted():
    parsed = read_srt("[Script Info]\nTitle: x\n\n1\n00:00:01,000 --> 00:00:02,000\nHola.\n")
    assert parsed.documents == ["Hola."]
    assert parsed.warnings("f.srt") == [
        "f.srt: 2 lines (23 bytes) could not be parsed as SubRip and were skipped "
        "(the first at line 1: '[Script Info]')"
    ]


def test_srt_prose_after_the_last_cue_is_not_part_of_it():
    prose = "\n".join(f"línea de prosa {i}" for i in range(30))
    parsed = read_srt(f"1\n00:00:01,000 --> 00:00:02,000\nHola.\n\n{prose}\n")
    assert parsed.documents == ["Hola."]
    assert parsed.skipped_lines == 30
    assert "(the first at line 5: 'línea de prosa 0')" in parsed.warnings("f.srt")[0]


def test_srt_cue_number_without_its_timing_is_counted():
    text = "1\n00:00:01,000 --> 00:00:02,000\nHola.\n\n2\nChau.\n\n3\n00:00:05,000 --> 00:00:06,000\nFin.\n"
    parsed = read_srt(text)
    assert parsed.documents == ["Hola. Chau.", "Fin."]
    assert parsed.warnings("f.srt") == [
        "f.srt: 1 line (2 bytes) could not be parsed as SubRip and were skipped (the first at line 5: '2')"
    ]


def test_srt_numbers_and_times_in_dialogue_are_text():
    text = "1\n00:00:01,000 --> 00:00:02,000\n1, 2, 3, probando.\nA las 10:30 en punto.\n12.30.45 horas\n"
    parsed = read_srt(text)
    assert parsed.documents == ["1, 2, 3, probando. A las 10:30 en punto. 12.30.45 horas"]
    assert parsed.warnings("f.srt") == []


def test_srt_with_no_cue_at_all_says_what_it_could_not_parse():
    parsed = read_srt("Este archivo no es un subtítulo.\nEs prosa.\n\nOtro párrafo.\n")
    assert parsed.documents == []
    assert parsed.empty_reason("f.srt") == (
        "f.srt: no subtitle cues found (3 lines, 59 bytes could not be parsed as SubRip; "
        "the first at line 1: 'Este archivo no es un subtítulo.')"
    )


def test_long_unparsable_line_is_shortened_in_the_message():
    parsed = read_srt("x" * 500 + "\n")
    assert parsed.empty_reason("f.srt").endswith(f"line 1: '{'x' * 39}\u2026')")


def test_well_formed_subtitles_have_no_warnings():
    assert read_srt(SIMPLE_SRT).warnings("f.srt") == []
    assert read_vtt(VTT).warnings("f.vtt") == []


def test_vtt_blocks_without_timing_and_extra_identifier_lines_are_counted():
    text = (
        "WEBVTT\n\n00:01.000 --> 00:02.000\nHola\n\njunk block\nmore junk\n\n"
        "id\n00:03.000 -> 00:04.000\nChau\n\nextra\nid2\n00:05.000 --> 00:06.000\nFin\n"
    )
    parsed = read_vtt(text)
    assert parsed.documents == ["Hola", "Chau", "Fin"]
    assert parsed.warnings("f.vtt") == [
        "f.vtt: 1 of 3 cue timings are malformed (the first at line 10: '00:03.000 -> 00:04.000'); "
        "the text of those cues was kept",
        "f.vtt: 3 lines (27 bytes) could not be parsed as WebVTT and were skipped (the first at line 6: 'junk block')",
    ]


def test_vtt_without_cues():
    parsed = read_vtt("WEBVTT\n\nnothing here\n\nat all\n")
    assert parsed.empty_reason("f.vtt") == (
        "f.vtt: no subtitle cues found (2 lines, 20 bytes could not be parsed as WebVTT; "
        "the first at line 3: 'nothing here')"
    )


def test_cues_without_text_are_reported_as_such():
    parsed = read_srt("1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\n<i></i>\n")
    assert parsed.empty_reason("f.srt") == "f.srt: no text found in its 2 cues"


def test_character_reference_line_breaks_join_like_cue_lines():
    assert parse_srt("1\n00:00:01,000 --> 00:00:02,000\nuno&#10;dos&#13;&#10;tres\n") == ["uno dos tres"]
