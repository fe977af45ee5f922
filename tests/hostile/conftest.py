"""Helpers for the attack suite: real processes, as an attacker or a crash would use them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, home: Path, *, env: dict | None = None, timeout: float = 120,
           check: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the store at ``home``."""
    full_env = {**os.environ, "CHARLM_HOME": str(home), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
                **(env or {})}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=full_env, timeout=timeout, cwd=ROOT)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def hold_in_another_process(name: str, home: Path) -> subprocess.Popen:
    """A process that holds ``name``'s store lock (as a running ``fit`` does) until it is killed."""
    code = f"from charlm import store\nimport time\nwith store.hold({name!r}):\n    print('held', flush=True)\n" \
           "    time.sleep(300)\n"
    env = {**os.environ, "CHARLM_HOME": str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    return proc


def spawn(args: list[str], home: Path, **kwargs) -> subprocess.Popen:
    """Start ``python -m ARGS...`` with the store at ``home`` (stdout/stderr piped, text)."""
    env = {**os.environ, "CHARLM_HOME": str(home), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT, **kwargs)


@pytest.fixture
def visible_models(charlm_home):
    """The model folders a user would see (no dot-folders)."""

    def names() -> list[str]:
        root = charlm_home / "models"
        return sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []

    return names


def one_line_error(result, *fragments: str) -> str:
    """Assert a CliRunner result is a user error: exit 2, one ``Error:`` line, no traceback."""
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]
