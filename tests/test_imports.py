"""Start-up stays cheap: nothing a user runs interactively imports TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import random_model

CHECK = (
    "import sys; heavy = sorted(m for m in sys.modules if m.startswith(('tensorflow', 'keras')))\n"
    "assert not heavy, heavy[:5]"
)


def run_python(code: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_importing_charlm_does_not_import_tensorflow():
    code = "import charlm, charlm.data, charlm.engine, charlm.store, charlm.trainer.cli, charlm.tui.cli\n" + CHECK
    result = run_python(code)
    assert result.returncode == 0, result.stderr


def test_charlm_train_help_does_not_import_tensorflow():
    code = (
        "from charlm.trainer.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "try:\n    cli.main(['fit', '--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n" + CHECK
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout and "--arch" in result.stdout


def test_charlm_once_does_not_import_tensorflow(charlm_home):
    random_model("m", "gru", text="hola che\n")
    code = (
        "import sys\nfrom charlm.tui.cli import cli\n"
        "rv = cli.main(['--once', 'hola', '--length', '20', '--mode', 'greedy'], standalone_mode=False)\n" + CHECK
    )
    env = {**os.environ, "CHARLM_HOME": str(charlm_home)}
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip("\n")) == 20


def test_python_dash_m_charlm_works(charlm_home):
    random_model("m", "gru", text="hola che\n")
    env = {**os.environ, "CHARLM_HOME": str(charlm_home)}
    result = subprocess.run(
        [sys.executable, "-m", "charlm", "--once", "ho", "-n", "5", "--mode", "greedy"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.rstrip("\n")) == 5
