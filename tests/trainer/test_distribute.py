"""Data-parallel training on tf.distribute: mirrored replicas and multi-worker processes compute the
update of one process with the global batch; only the chief writes to the store; a lost worker ends
the run with a clear error and leaves the store untouched."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from charlm import store
from charlm.trainer.cli import cli
from tests.conftest import random_model
from tests.hostile.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def env_for(home, **extra) -> dict:
    return {**os.environ, "CHARLM_HOME": str(home), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
            **extra}


def run_worker(args: list[str], home, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.trainer.distributed_worker", *args], capture_output=True,
                          text=True, env=env_for(home, **extra), cwd=ROOT, timeout=300)


def start_workers(args_for, home, n: int = 2, module: str = "tests.trainer.distributed_worker",
                  **extra) -> list[subprocess.Popen]:
    ports = [free_port() for _ in range(n)]
    return [subprocess.Popen([sys.executable, "-m", module, *args_for(i)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env=env_for(home, TF_CONFIG=tf_config(ports, i), **extra)) for i in range(n)]


def finish(procs: list[subprocess.Popen], timeout: float = 300) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        try:
            o, e = p.communicate(timeout=timeout)
        finally:
            p.kill()
        out.append((p.returncode, o, e))
    return out


def assert_same_weights(a_path, b_path, atol=1e-5) -> None:
    a, b = np.load(a_path), np.load(b_path)
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        np.testing.assert_allclose(a[k], b[k], atol=atol, err_msg=k)


def test_mirrored_replicas_compute_the_single_process_update(tmp_path, charlm_home):
    single = run_worker(["step", "single", str(tmp_path / "single.npz")], charlm_home)
    assert single.returncode == 0, single.stderr
    mirrored = run_worker(["step", "mirrored", str(tmp_path / "mirrored.npz")], charlm_home,
                          CHARLM_CPU_REPLICAS="2")
    assert mirrored.returncode == 0, mirrored.stderr
    assert_same_weights(tmp_path / "single.npz", tmp_path / "mirrored.npz")


def test_two_workers_compute_the_single_process_update(tmp_path, charlm_home):
    single = run_worker(["step", "single", str(tmp_path / "single.npz")], charlm_home)
    assert single.returncode == 0, single.stderr
    results = finish(start_workers(lambda i: ["step", "multi-worker", str(tmp_path / f"w{i}.npz")], charlm_home))
    assert [r[0] for r in results] == [0, 0], [r[2][-2000:] for r in results]
    assert_same_weights(tmp_path / "single.npz", tmp_path / "w0.npz")
    assert_same_weights(tmp_path / "w0.npz", tmp_path / "w1.npz", atol=0)


def test_a_two_worker_fit_saves_one_model_the_chiefs_equal_to_the_workers(tmp_path, tiny_srt, charlm_home):
    results = finish(start_workers(
        lambda i: ["fit", "multi-worker", str(tiny_srt), "mw", str(tmp_path / f"w{i}.npz")], charlm_home))
    assert [r[0] for r in results] == [0, 0], [r[2][-2000:] for r in results]
    assert "chief=True" in results[0][1] and "chief=False" in results[1][1]
    assert [r.name for r in store.list_models(include_builtin=False)] == ["mw"]
    assert len(store.load_record("mw").history) == 2
    assert_same_weights(tmp_path / "w0.npz", tmp_path / "w1.npz", atol=1e-6)
    models = charlm_home / "models"
    assert sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) == ["mw"]


def test_killing_a_worker_ends_the_run_with_a_clear_error_and_no_model(tiny_srt, charlm_home):
    args = ["charlm.trainer.cli", "fit", str(tiny_srt), "--strategy", "multi-worker", "--name", "lost", "--json",
            "--units", "8", "--embedding", "4", "--seq-length", "16", "--batch-size", "8", "--epochs", "500",
            "--patience", "0"]
    procs = start_workers(lambda i: args[1:], charlm_home, module=args[0], CHARLM_COLLECTIVE_TIMEOUT="10")
    chief, worker = procs
    try:
        line = chief.stdout.readline()
        assert json.loads(line)["event"] == "epoch", chief.stderr.read()[-2000:]
        worker.send_signal(signal.SIGKILL)
        _, err = chief.communicate(timeout=180)
    finally:
        for p in procs:
            p.kill()
    assert chief.returncode == 2, err[-2000:]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1].startswith("Error: a worker of this multi-worker run stopped answering"), err[-2000:]
    assert "Traceback" not in err
    assert store.list_models(include_builtin=False) == []


def test_a_chief_that_stops_on_bad_input_ends_its_workers_with_one_line(tiny_srt, charlm_home):
    """The chief refuses the name (another model has it); the worker, already building its
    model, must not print TensorFlow's traceback."""
    random_model("taken", "lstm", units=8)
    before = (charlm_home / "models" / "taken" / "config.json").read_bytes()
    args = ["charlm.trainer.cli", "fit", str(tiny_srt), "--strategy", "multi-worker", "--name", "taken",
            "--units", "8", "--embedding", "4", "--seq-length", "16", "--batch-size", "8", "--epochs", "2"]
    procs = start_workers(lambda i: args[1:], charlm_home, module=args[0], CHARLM_COLLECTIVE_TIMEOUT="10")
    (chief_rc, _, chief_err), (worker_rc, _, worker_err) = finish(procs, timeout=180)
    assert chief_rc == 2 and chief_err.strip().startswith("Error: a model named 'taken' already exists")
    assert worker_rc == 2, worker_err[-2000:]
    lines = [ln for ln in worker_err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: a worker of this multi-worker run stopped answering")
    assert (charlm_home / "models" / "taken" / "config.json").read_bytes() == before


def test_multi_worker_without_tf_config_is_a_one_line_error(tiny_srt, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["fit", str(tiny_srt), "--strategy", "multi-worker"])
    assert result.exit_code == 2
    assert result.output.strip() == ("Error: --strategy multi-worker needs the TF_CONFIG environment variable "
                                     "(see docs/scaling.md)")


@pytest.mark.parametrize("raw", ["{", '{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}',
                                 '{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
                                 '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}'])
def test_a_broken_tf_config_is_a_one_line_error(tiny_srt, monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    result = CliRunner().invoke(cli, ["fit", str(tiny_srt), "--strategy", "multi-worker"])
    assert result.exit_code == 2
    assert result.output.startswith(("Error: TF_CONFIG is not a usable worker cluster",
                                     "Error: TF_CONFIG is not valid JSON"))


def test_a_distributed_search_runs_trials_on_workers_and_the_chief_stores_one_model(tiny_srt, charlm_home):
    port = str(free_port())
    args = ["-m", "charlm.trainer.cli", "tune", str(tiny_srt), "--name", "dist", "--archs", "gru",
            "--max-epochs", "2", "--max-trials", "4", "--seq-length", "16", "--batch-size", "8",
            "--epochs", "1", "--patience", "0"]

    def start(tuner_id: str) -> subprocess.Popen:
        env = env_for(charlm_home, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                      KERASTUNER_ORACLE_PORT=port)
        return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=ROOT)

    chief = start("chief")
    workers = [start("tuner0"), start("tuner1")]
    results = finish([*workers, chief], timeout=600)
    for code, out, err in results:
        assert code == 0, (out + err)[-3000:]
    chief_out = results[2][1]
    ran = [re.findall(r"^trial (\d+):", out, re.M) for _, out, _ in results[:2]]
    assert len(ran[0]) + len(ran[1]) >= 2 and not set(ran[0]) & set(ran[1]), ran  # each trial ran once
    started_on = re.findall(r"^trial (\d+) on (tuner\d)", chief_out, re.M)  # the chief saw them all
    assert sorted(t for t, _ in started_on) == sorted(ran[0] + ran[1])
    assert "this process is the chief" in chief_out and "training it as dist" in chief_out
    assert "the chief stores the best model" in results[0][1]
    assert [r.name for r in store.list_models(include_builtin=False)] == ["dist"]
