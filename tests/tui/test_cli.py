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
    assert set(completion) <= set(TEXT) | {"\ufffd"}


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
