"""`charlm-train` through click's CliRunner: outputs, JSON shapes and every error path."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from charlm.trainer.cli import cli
from tests.conftest import random_model

TINY = ["--units", "16", "--embedding", "4", "--seq-length", "24", "--batch-size", "8", "--epochs", "2", "--lr", "0.01"]


def invoke(*args, stdin=None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], lines[0]


def test_fit_json_then_list_show_eval_rm(tiny_srt, charlm_home):
    result = invoke("fit", str(tiny_srt), "--name", "t1", "--json", *TINY)
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    epochs = [o for o in objs if o["event"] == "epoch"]
    final = objs[-1]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for key in ("name", "arch", "params", "val_perplexity", "epochs", "train_seconds", "path"):
        assert key in final
    assert final["name"] == "t1" and final["arch"] == "lstm" and final["epochs"] == 2
    assert final["val_perplexity"] == pytest.approx(min(e["val_perplexity"] for e in epochs), abs=1e-3)

    listed = json.loads(invoke("list", "--json").output)
    assert [m["name"] for m in listed if not m["builtin"]] == ["t1"]
    assert {"name", "arch", "val_perplexity"} <= set(listed[0])

    shown = json.loads(invoke("show", "t1", "--json").output)
    assert shown["config"]["arch"]["units"] == 16 and len(shown["history"]) == 2

    ev = invoke("eval", "t1", str(tiny_srt), "--json")
    assert ev.exit_code == 0, ev.output
    scored = json.loads(ev.output)
    assert {"perplexity", "bits_per_char", "chars"} <= set(scored)
    assert scored["chars"] > 4000 and 1.0 < scored["perplexity"] < 40

    again = invoke("fit", str(tiny_srt), "--name", "t1", *TINY)
    assert again.exit_code == 0 and "reusing" in again.output

    assert invoke("rm", "t1").exit_code == 0
    assert not (charlm_home / "models" / "t1").exists()


def test_fit_rich_output_names_the_model_and_perplexity(tiny_srt):
    result = invoke("fit", str(tiny_srt), *TINY, "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "tiny-lstm" in result.output and "validation perplexity" in result.output


def test_missing_corpus(tmp_path):
    assert_user_error(invoke("fit", str(tmp_path / "nope.srt")), "nope.srt", "no such file")


def test_empty_corpus(tmp_path):
    empty = tmp_path / "empty.srt"
    empty.write_text("")
    assert_user_error(invoke("fit", str(empty)), "empty")


def test_binary_corpus(tmp_path):
    binary = tmp_path / "model.bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert_user_error(invoke("fit", str(binary)), "binary")


def test_corpus_too_short(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("hola che")
    assert_user_error(invoke("fit", str(short)), "too short")


def test_no_corpus_at_all():
    assert_user_error(invoke("fit"), "CORPUS")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--units", "0"], "--units"),
        (["--dropout", "1.5"], "--dropout"),
        (["--arch", "perceptron"], "--arch"),
        (["--lr", "-1"], "--lr"),
        (["--epochs", "abc"], "--epochs"),
        (["--val-fraction", "1"], "--val-fraction"),
        (["--one-hot", "--embedding", "8"], "mutually exclusive"),
    ],
)
def test_absurd_options(tiny_srt, args, fragment):
    assert_user_error(invoke("fit", str(tiny_srt), *args), fragment)


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "default"])
def test_invalid_names(tiny_srt, name, charlm_home):
    assert_user_error(invoke("fit", str(tiny_srt), "--name", name, *TINY), "name")
    models = charlm_home / "models"
    assert not models.exists() or [p for p in models.iterdir() if not p.name.startswith(".")] == []


def test_unknown_model_everywhere(tiny_srt):
    for args in (["show", "nope"], ["eval", "nope", str(tiny_srt)], ["rm", "nope"]):
        assert_user_error(invoke(*args), "nope")


def test_corrupt_model_is_a_one_line_error(tiny_srt):
    record, _ = random_model("broken")
    (record.path / "weights.npz").write_bytes(b"not a zip")
    assert_user_error(invoke("eval", "broken", str(tiny_srt)), "broken")


def test_builtin_model_cannot_be_removed():
    assert_user_error(invoke("rm", "default"), "built-in")


def test_list_empty_store_says_how_to_train(no_builtin):
    result = invoke("list")
    assert result.exit_code == 0 and "charlm-train fit" in result.output


def test_fit_from_stdin(tiny_srt):
    result = invoke("fit", "-", "--json", *TINY, "--epochs", "1", stdin=tiny_srt.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["name"] == "stdin-lstm"


def test_cp1252_corpus_warns_but_trains(tmp_path):
    from tests.conftest import dialogue_lines

    path = tmp_path / "latin.srt"
    from tests.conftest import write_srt

    write_srt(path, dialogue_lines(200))
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    result = invoke("fit", str(path), "--json", *TINY, "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "cp1252" in result.output


def test_ctrl_c_in_a_real_process_keeps_the_best_model(tiny_srt, charlm_home):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "CHARLM_HOME": str(charlm_home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "charlm.trainer.cli", "fit", str(tiny_srt), "--name", "sig", "--json",
           *TINY, "--epochs", "500", "--patience", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["event"] == "epoch"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    final = json.loads(out.splitlines()[-1])
    assert final["reason"] == "interrupted" and final["status"] == "interrupted"
    shown = json.loads(invoke("show", "sig", "--json").output)
    assert shown["status"] == "interrupted" and len(shown["history"]) >= 1
