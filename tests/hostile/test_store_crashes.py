"""Attacks on the store's writes: kill -9 at every point of a save, racing processes, stop signals.

The promise: whatever happens, a model is never lost nor half-written, and a clean-up never deletes
what another live process is writing.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from click.testing import CliRunner

from charlm import store
from charlm.trainer.cli import cli
from tests.conftest import random_model
from tests.hostile.conftest import hold_in_another_process, one_line_error, python, spawn

SAVE_AGAIN = """
    from tests.conftest import random_model
    random_model("film", "lstm", seed=2)   # the new version of the model (an LSTM; the first was a GRU)
"""
FAULT_POINTS = ["save:written", "save:moved-old", "save:moved-new"]


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_kill_9_at_any_point_of_a_save_keeps_the_old_or_the_new_model(point, charlm_home, visible_models):
    random_model("film", "gru", seed=1)
    killed = python(SAVE_AGAIN, charlm_home, env={"CHARLM_FAULT": point})
    assert killed.returncode == -signal.SIGKILL
    assert visible_models() in ([], ["film"])  # maybe only leftovers right after the crash...
    records = store.list_models(include_builtin=False)  # ...but the next look restores a complete copy
    assert [r.name for r in records] == ["film"]
    assert records[0].arch in ("gru", "lstm")
    store.load_weights(records[0])  # and it is whole
    assert [p.name for p in (charlm_home / "models").iterdir() if not p.name.startswith(".locks")] == ["film"]


def test_a_crash_between_the_renames_is_recovered_not_deleted_by_an_unrelated_save(charlm_home, visible_models):
    random_model("film", "gru", seed=1)
    python(SAVE_AGAIN, charlm_home, env={"CHARLM_FAULT": "save:moved-old"})
    assert "film" not in visible_models()  # the crash left only the two copies aside
    random_model("other", "rnn")  # an unrelated save must not delete them...
    assert "film" in [r.name for r in store.list_models()]  # ...and the name comes back whole


def test_cleanup_never_deletes_the_unfinished_folder_of_a_live_process(charlm_home):
    random_model("mine")
    holder = spawn(["tests.hostile.hold_lock", "film"], charlm_home)  # holds the lock, writes a .tmp folder
    try:
        assert holder.stdout.readline().strip() == "holding"
        unfinished = next((charlm_home / "models").glob(".tmp-film-*"))
        store.list_models()
        random_model("other")
        store.recover_all()
        assert unfinished.is_dir(), "another process's unfinished save was deleted"
    finally:
        holder.kill()
        holder.wait()
    store.list_models()  # its process is dead: now the leftover is cleaned
    assert not unfinished.exists()


TINY = ["--units", "8", "--embedding", "4", "--seq-length", "16", "--batch-size", "8", "--lr", "0.01"]


def _first_epoch(proc) -> dict:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return json.loads(line)


def test_two_fits_of_one_name_at_once_the_second_stops_with_a_clear_message(tiny_srt, charlm_home):
    first = spawn(["charlm.trainer.cli", "fit", str(tiny_srt), "--name", "race", "--json", *TINY,
                   "--epochs", "500", "--patience", "0"], charlm_home)
    try:
        assert _first_epoch(first)["event"] == "epoch"
        second = spawn(["charlm.trainer.cli", "fit", str(tiny_srt), "--name", "race", *TINY, "--units", "12",
                        "--epochs", "1"], charlm_home)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, out + err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "'race' is being trained by another charlm process" in lines[0], err
        assert f"pid {first.pid}" in lines[0]
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 130
    assert store.load_record("race").config.arch.units == 8  # the first one's model, not replaced


def test_a_model_being_retrained_cannot_be_removed_under_it(charlm_home, monkeypatch):
    random_model("busy", "lstm")
    monkeypatch.setattr(store, "READ_WAIT", 0.2)
    holder = hold_in_another_process("busy", charlm_home)  # as `fit --force` holds it from start to save
    try:
        removed = CliRunner().invoke(cli, ["rm", "busy"])
    finally:
        holder.kill()
        holder.communicate()
    one_line_error(removed, "'busy' is being written", "remove it when that process has finished")
    assert store.load_record("busy")
    assert CliRunner().invoke(cli, ["rm", "busy"]).exit_code == 0


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_mid_fit_keep_the_best_model(tiny_srt, charlm_home, sig, code):
    proc = spawn(["charlm.trainer.cli", "fit", str(tiny_srt), "--name", "sig", "--json", *TINY,
                  "--epochs", "500", "--patience", "0"], charlm_home)
    try:
        assert _first_epoch(proc)["event"] == "epoch"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    final = json.loads(out.splitlines()[-1])
    assert final["status"] == "interrupted"
    assert store.load_record("sig").interrupted


def test_ctrl_c_during_start_up_exits_130_without_a_traceback(tiny_srt, charlm_home):
    proc = spawn(["charlm.trainer.cli", "fit", str(tiny_srt), "--name", "early", *TINY], charlm_home)
    time.sleep(1.5)  # corpus read, TensorFlow importing
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not (charlm_home / "models" / "early").exists()
