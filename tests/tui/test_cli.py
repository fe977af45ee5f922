"""`charlm --once` through CliRunner: every mode, stdin, JSON, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from charlm.tui.cli import cli
from tests.conftest import random_model

TEXT = "hola che, ¿qué tal? todo bien. la plata, el vuelto y las estampillas.\n"


@pytest.fixture
def model():
    record, _ = random_model("m", "lstm", units=16, embedding=6, text=TEXT, scale=0.8)
    return record


def once(*args, stdin=None):
    result = CliRunner().invoke(cli, ["--once", *args], input=stdin)
    return result


@pytest.mark.parametrize("mode", ["greedy", "beam", "sampled-beam", "sample"])
def test_each_mode_prints_a_completion_of_the_requested_length(model, mode):
    result = once("hola", "--mode", mode, "--length", "30", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("\n")
    completion = result.output[:-1]
    assert len(completion) == 30
    assert set(completion) <= set(TEXT)  # never the unknown symbol


def test_same_seed_same_output_and_beam_width_one_is_greedy(model):
    a = once("hola", "--mode", "sample", "--seed", "7", "-n", "40").output
    b = once("hola", "--mode", "sample", "--seed", "7", "-n", "40").output
    assert a == b
    greedy = once("hola", "--mode", "greedy", "-n", "40").output
    beam1 = once("hola", "--mode", "beam", "--beam-width", "1", "-n", "40").output
    assert greedy == beam1


def test_temperature_zero_sampling_is_greedy(model):
    assert (
        once("che", "--mode", "sample", "-t", "0", "-n", "25").output
        == once("che", "--mode", "greedy", "-n", "25").output
    )


def test_prompt_from_stdin_then_argument(model):
    piped = once("tal", "--mode", "greedy", "-n", "20", stdin="hola che\n")
    joined = once("hola chetal", "--mode", "greedy", "-n", "20")
    assert piped.exit_code == 0 and piped.output == joined.output


def test_json_output(model):
    result = once("hola", "--mode", "beam", "--num", "3", "--json", "-n", "12")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["prompt"] == "hola" and data["mode"] == "beam" and data["model"] == "m"
    assert len(data["completions"]) == 3
    assert data["completion"] == data["completions"][0]["text"]
    assert all(isinstance(c["logprob"], float) and c["logprob"] < 0 for c in data["completions"])
    assert data["settings"]["beam_width"] >= 3
    texts = [c["text"] for c in data["completions"]]
    assert len(set(texts)) == 3


def test_num_prints_one_completion_per_line(model):
    result = once("hola", "--mode", "sampled-beam", "--num", "4", "-n", "10", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 4


def test_stop_string(model):
    full = once("hola", "--mode", "greedy", "-n", "60").output[:-1]
    stop = full[10:12]
    cut = once("hola", "--mode", "greedy", "-n", "60", "--stop", stop).output[:-1]
    assert cut == full[: full.index(stop)]


def test_unknown_prompt_characters_are_reported(model):
    result = CliRunner().invoke(cli, ["--once", "hola ZX#", "-n", "5", "--mode", "greedy"])
    assert result.exit_code == 0
    assert "#" in result.stderr and "unknown" in result.stderr
    assert len(result.stdout) == 6


def error_line(result):
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in result.output
    return lines[0]


def test_unknown_model(model):
    assert "nope" in error_line(once("hola", "--model", "nope"))


def test_empty_store_points_to_charlm_train(no_builtin):
    assert "charlm-train fit" in error_line(once("hola"))


def test_corrupt_model(model):
    (model.path / "weights.npz").write_bytes(b"junk")
    assert "m" in error_line(once("hola", "--model", "m"))


@pytest.mark.parametrize(
    "args",
    [
        ["--temperature", "-1"],
        ["--top-p", "0"],
        ["--mode", "nucleus"],
        ["--beam-width", "0"],
        ["--length", "-5"],
        ["--num", "2", "--mode", "greedy"],
        ["--backend", "torch"],
    ],
)
def test_bad_options(model, args):
    error_line(once("hola", *args))


def test_keras_backend_gives_the_same_greedy_text(model):
    numpy_out = once("hola", "--mode", "greedy", "-n", "30").output
    keras_out = once("hola", "--mode", "greedy", "-n", "30", "--backend", "keras").output
    assert numpy_out == keras_out


# -- every value --help allows works --------------------------------------------------------

def decode_edges() -> list[list[str]]:
    """Each decoding option at each end of its declared range, alone (ranges come from the Specs)."""
    from charlm import spec
    from charlm.engine.settings import DecodeSettings

    runs = []
    for name, s in spec.specs(DecodeSettings).items():
        if s.kind not in (int, float) or not s.flag:
            continue
        for value, is_open in ((s.lo, s.lo_open), (s.hi, s.hi_open)):
            if value is None:
                continue
            if is_open:
                value = 5e-324 if value == 0 else value - 1e-9
            text = str(int(value)) if s.kind is int else repr(float(value))
            mode = {"beam_width": "beam", "length_penalty": "beam", "num": "sample"}.get(name, "sample")
            length = "3" if name in ("num", "beam_width") else "12"
            if name == "length":
                runs.append([s.flag, text, "--mode", "greedy"])
            else:
                runs.append([s.flag, text, "--mode", mode, "-n", length])
    return runs


@pytest.mark.parametrize("args", decode_edges(), ids=lambda a: f"{a[0]}={a[1]}")
def test_every_edge_of_every_decoding_option_works(model, args):
    result = once("hola", *args, "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("mode", ["sample", "sampled-beam", "beam"])
def test_the_largest_seed_with_several_results(model, mode):
    result = once("hola", "--mode", mode, "--num", "5", "--seed", str(2**63 - 1), "-n", "15", "--json")
    assert result.exit_code == 0, result.output
    completions = json.loads(result.output)["completions"]
    assert len(completions) == 5 and all(len(c["text"]) <= 15 for c in completions)


@pytest.mark.parametrize("top_p", ["1e-12", "1e-300", "5e-324"])
def test_tiny_top_p_is_greedy(model, top_p):
    tiny = once("che", "--mode", "sample", "--top-p", top_p, "-n", "25", "--seed", "3")
    assert tiny.exit_code == 0, tiny.output
    assert tiny.output == once("che", "--mode", "greedy", "-n", "25").output


def test_num_results_are_not_the_next_seeds_results(model):
    five = once("hola", "--mode", "sample", "--num", "3", "--seed", "10", "-n", "30", "-t", "1.5").output.splitlines()
    single = [once("hola", "--mode", "sample", "--seed", str(s), "-n", "30", "-t", "1.5").output.rstrip("\n")
              for s in (10, 11, 12)]
    assert five[0] == single[0]  # the first result is the --num 1 result
    assert not set(five[1:]) & set(single[1:])


# -- the unknown symbol ---------------------------------------------------------------------

@pytest.fixture
def unknown_heavy():
    """A model that puts real weight on the unknown symbol (random weights, a big output scale)."""
    record, _ = random_model("u", "gru", units=8, text="ab\n", scale=3.0, seed=5)
    return record


@pytest.mark.parametrize("mode", ["greedy", "beam", "sampled-beam", "sample"])
@pytest.mark.parametrize("extra", [["--no-repeat-ngram", "1"], ["-t", "100"], []])
def test_once_never_prints_the_unknown_symbol(unknown_heavy, mode, extra):
    result = once("ab", "--model", "u", "--mode", mode, *extra, "-n", "60", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "\ufffd" not in result.output and len(result.output) == 61


# -- stop strings with escapes --------------------------------------------------------------

@pytest.mark.parametrize("bad", ["\\q", "ab\\", "\\x4", "\\u12", "\\ud800"])
def test_an_invalid_stop_escape_is_a_usage_error(model, bad):
    line = error_line(once("hola", "--stop", bad))
    assert "--stop" in line


def test_stop_escapes_keep_non_ascii_text():
    from charlm.engine.settings import parse_escapes, show_escapes

    assert parse_escapes("ñ\\n") == "ñ\n"
    assert parse_escapes("\\t\\\\\\x41\\u00f1\\U0001F600\\r") == "\t\\Añ😀\r"
    for text in ("ñ\n", "a\\b", "\x1b[31m", "\u202e", "|"):
        assert parse_escapes(show_escapes(text)) == text


def test_a_non_ascii_stop_string_stops(model):
    full = once("hola", "--mode", "greedy", "-n", "60").output[:-1]
    stop = full[5:7]
    cut = once("hola", "--mode", "greedy", "-n", "60", "--stop", stop.replace("\n", "\\n")).output[:-1]
    assert cut == full[: full.index(stop)]


# -- output is safe for a terminal ----------------------------------------------------------

HOSTILE_TEXT = "ab \x1b[31m \x9b \u202e \x07\n"


@pytest.fixture
def hostile():
    record, _ = random_model("h", "gru", units=8, text=HOSTILE_TEXT, scale=2.0, seed=1)
    return record


def test_once_output_has_control_characters_escaped(hostile):
    result = once("a", "--model", "h", "--mode", "sample", "-t", "50", "-n", "300", "--seed", "0")
    assert result.exit_code == 0
    for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert bad not in result.output
    assert "\\x1b" in result.output or "\\x9b" in result.output


def test_json_output_escapes_c1_and_bidi(hostile):
    result = once("a", "--model", "h", "--mode", "sample", "-t", "50", "-n", "300", "--seed", "0", "--json")
    assert result.exit_code == 0
    for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert bad not in result.output
    data = json.loads(result.output)
    assert set(data["completion"]) & {"\x1b", "\x9b", "\u202e", "\x07"}  # the same text, decoded


def test_help_shows_ranges_declared_once():
    from charlm import spec
    from charlm.engine.settings import DecodeSettings

    help_text = CliRunner().invoke(cli, ["--help"]).output
    for s in spec.specs(DecodeSettings).values():
        assert s.flag in help_text
    assert "0<=x<=256" in help_text.replace(" ", "") or "1<=x<=256" in help_text.replace(" ", "")


def test_the_app_gets_only_the_options_given(monkeypatch):
    import charlm.tui.launch
    import charlm.tui.terminal

    calls = []
    monkeypatch.setattr(charlm.tui.terminal, "terminal_problem", lambda: None)
    monkeypatch.setattr(charlm.tui.launch, "launch", lambda *args: calls.append(args) or 0)
    result = CliRunner().invoke(cli, ["hola", "--mode", "beam", "-n", "50", "--stop", "a\\n"])
    assert result.exit_code == 0, result.output
    assert calls == [(None, {"mode": "beam", "length": 50, "stop": ("a\n",)}, "hola")]


def test_the_app_in_a_pipe_says_to_use_once():
    line = error_line(CliRunner().invoke(cli, ["hola"]))
    assert "--once" in line
