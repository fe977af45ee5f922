"""Text that reaches a terminal, a model or a JSON reader carries no control characters."""

from __future__ import annotations

import json
import sys

import pytest

from charlm.data.sanitize import (
    describe_counts,
    has_unsafe,
    json_dumps,
    json_escape,
    strip_unsafe,
    terminal_safe,
    unsafe_counts,
)

ATTACKS = {
    "set the window title": "\x1b]0;pwned\x07",
    "recolour": "\x1b[31m",
    "8-bit CSI": "\x9b2J",
    "8-bit OSC hyperlink": "\x9d8;;http://evil\x9c",
    "clear the screen": "\x1b[2J\x1b[H",
    "carriage return hides the start": "safe\rrm -rf",
    "backspace": "ab\x08\x08",
    "right-to-left override": "abc\u202edcba",
    "isolate": "\u2067x\u2069",
    "invisible mark": "a\u200fb",
    "NUL": "a\x00b",
    "DEL": "a\x7fb",
}

#: Every code point the module calls unsafe, by the definition in its docstring.
UNSAFE = (
    set(range(0x00, 0x20)) - {0x09, 0x0A}
    | set(range(0x7F, 0xA0))
    | {0x061C, 0x200E, 0x200F}
    | set(range(0x202A, 0x202F))
    | set(range(0x2066, 0x206A))
)
ALL_CODE_POINTS = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


# ------------------------------------------------------------- terminal_safe


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_no_attack_reaches_the_terminal_raw(attack):
    shown = terminal_safe(f"before {attack} after")
    assert not any(ord(c) in UNSAFE for c in shown)
    assert shown.startswith("before ") and shown.endswith(" after")


def test_escapes_are_visible_and_name_the_character():
    assert terminal_safe("\x1b[31mred") == "\\x1b[31mred"
    assert terminal_safe("a\x9bb") == "a\\x9bb"
    assert terminal_safe("a\x00b\x7fc") == "a\\x00b\\x7fc"
    assert terminal_safe("abc\u202edcba") == "abc\\u202edcba"
    assert terminal_safe("x\u200fy\u061cz") == "x\\u200fy\\u061cz"
    assert terminal_safe("safe\rrm") == "safe\\rrm"


def test_newline_and_tab_stay_in_running_text():
    assert terminal_safe("one\ntwo\tthree") == "one\ntwo\tthree"


def test_single_line_escapes_newline_carriage_return_and_tab():
    assert terminal_safe("a\nb\rc\td\x1b", single_line=True) == "a\\nb\\rc\\td\\x1b"


def test_normal_text_is_untouched_and_not_copied():
    text = "¿Qué hacés, ñandú? 日本語 🙂 e\u0301 « » — ‘’ \u00a0 \u2028 back\\slash"
    assert terminal_safe(text) is text
    assert terminal_safe(text, single_line=True) is text


def reference_escape(char: str) -> str:
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    code = ord(char)
    return named.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def test_every_code_point_is_dropped_or_escaped_exactly_when_it_is_unsafe():
    assert strip_unsafe(ALL_CODE_POINTS)[0] == "".join(c for c in ALL_CODE_POINTS if ord(c) not in UNSAFE)
    expected = "".join(reference_escape(c) if ord(c) in UNSAFE else c for c in ALL_CODE_POINTS)
    assert terminal_safe(ALL_CODE_POINTS) == expected


def test_lone_surrogates_from_file_names_are_escaped():
    name = b"caf\xe9.srt".decode("utf-8", "surrogateescape")
    shown = terminal_safe(name, single_line=True)
    assert shown == "caf\\udce9.srt"
    shown.encode("utf-8")  # printable at all


def test_terminal_safe_is_idempotent():
    once = terminal_safe("".join(ATTACKS.values()) + "\n", single_line=True)
    assert terminal_safe(once, single_line=True) == once
    assert terminal_safe(once) == once


# --------------------------------------------------------------- strip_unsafe


def test_strip_drops_whole_escape_sequences_and_counts_each_once():
    assert strip_unsafe("a\x1b[1;31mred\x1b[0m b") == ("ared b", 2)
    assert strip_unsafe("x\x1b]0;title\x07y") == ("xy", 1)
    assert strip_unsafe("x\x1b]8;;http://a\x1b\\link\x1b]8;;\x1b\\y") == ("xlinky", 2)
    assert strip_unsafe("a\x9b2Jb") == ("ab", 1)


def test_strip_drops_lone_controls_and_bidi_characters():
    assert strip_unsafe("a\x00b\x7fc\x85d\u202ee\u2066f\u200fg") == ("abcdefg", 6)
    assert strip_unsafe("lone escape at the end\x1b") == ("lone escape at the end", 1)


def test_strip_keeps_newline_and_tab_and_clean_text_is_not_copied():
    text = "uno\tdos\ntres ñ 🙂"
    clean, count = strip_unsafe(text)
    assert (clean, count) == (text, 0)
    assert clean is text
    assert not has_unsafe(text)
    assert has_unsafe(text + "\x1b")


def test_unterminated_title_sequence_keeps_the_text_after_it():
    assert strip_unsafe("\x1b]0;never closed, then prose") == ("0;never closed, then prose", 1)


def test_strip_cost_is_bounded_on_many_unterminated_sequences():
    text = "\x1b]" + "x" * 2000
    clean, count = strip_unsafe(text * 200)
    assert count == 200
    assert clean == ("x" * 2000) * 200


def test_counts_by_kind_and_description():
    text = "\x1b[31ma\x1b[0m \x00\x00 \u202e \x07 \x85"
    counts = unsafe_counts(text)
    assert counts == {"escape sequence": 2, "NUL": 2, "bidi control": 1, "other control character": 2}
    assert describe_counts(counts) == "2 escape sequences, 2 NUL, 1 bidi control and 2 other control characters"
    assert describe_counts({"NUL": 1}) == "1 NUL"
    assert describe_counts({}) == ""


# ----------------------------------------------------------------------- JSON


def test_json_escapes_c0_c1_bidi_and_line_separators_but_keeps_letters():
    value = {"text": "ñandú \x1b[31m \x9b \u202e \u2028 🙂", "name": "a\u200fb"}
    dumped = json_dumps(value, sort_keys=True)
    assert not any(ord(c) in UNSAFE or c in "\u2028\u2029" for c in dumped)
    assert "ñandú" in dumped and "🙂" in dumped
    assert "\\u001b" in dumped and "\\u009b" in dumped and "\\u202e" in dumped and "\\u2028" in dumped
    assert json.loads(dumped) == value


def test_json_dumps_passes_options_through():
    assert json_dumps({"b": 1, "a": "x"}, sort_keys=True, indent=1) == '{\n "a": "x",\n "b": 1\n}'


def test_json_escape_of_clean_json_is_the_same_object():
    text = json.dumps({"a": "ñ"}, ensure_ascii=False)
    assert json_escape(text) is text


def test_json_lone_surrogate_becomes_an_escape():
    dumped = json_dumps(["caf\udce9"])
    dumped.encode("utf-8")
    assert dumped == '["caf\\udce9"]'
