"""The app and its terminal, with real processes: no terminal, a dumb one, and one that goes away."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from charlm.tui.terminal import terminal_problem

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX")

CHARLM = [sys.executable, "-m", "charlm"]


def env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CHARLM_HOME": str(home), "TERM": "xterm-256color", **extra}


def read_until_drawn(master: int, timeout: float = 30.0) -> bytes:
    """Read what the app draws until it has shown its footer (it is up and running)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and b"Help" not in out:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    assert b"Help" in out, f"the app did not start: {out[-500:]!r}"
    return out


def wait_exit(pid: int, timeout: float = 6.0) -> int | None:
    """The process's wait status, or None if it is still running after ``timeout`` (then killed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


# -- without a terminal ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["stdin piped", "stdout piped", "TERM=dumb"])
def test_the_app_without_a_terminal_says_to_use_once_and_exits_2(tmp_path, how):
    master, slave = pty.openpty()
    try:
        stdin = subprocess.PIPE if how == "stdin piped" else slave
        stdout = subprocess.PIPE if how == "stdout piped" else slave
        extra = {"TERM": "dumb"} if how == "TERM=dumb" else {}
        result = subprocess.run(CHARLM, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                env=env(tmp_path, **extra), timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("Error:") and "--once" in lines[0]


def test_terminal_problem_names_what_is_missing():
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    assert terminal_problem(Stream(True), Stream(True), {"TERM": "xterm"}) is None
    assert "input" in terminal_problem(Stream(False), Stream(True), {"TERM": "xterm"})
    assert "output" in terminal_problem(Stream(True), Stream(False), {"TERM": "xterm"})
    assert "TERM" in terminal_problem(Stream(True), Stream(True), {"TERM": "dumb"})


# -- when the terminal goes away ------------------------------------------------------------

def test_the_app_exits_when_its_controlling_terminal_closes(tmp_path):
    """A closed tmux pane or ssh session: the kernel sends SIGHUP."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execve(sys.executable, CHARLM, env(tmp_path))
    read_until_drawn(master)
    os.close(master)
    status = wait_exit(pid)
    assert status is not None, "the app kept running after its terminal closed"


def app_in_own_session(tmp_path) -> tuple[subprocess.Popen, int]:
    """The app on a new pty, in its own session (setsid, nohup-like), drawn; (process, pty master)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(CHARLM, stdin=slave, stdout=slave, stderr=slave, env=env(tmp_path),
                            start_new_session=True)
    os.close(slave)
    try:
        read_until_drawn(master)
    except BaseException:
        os.close(master)
        proc.kill()
        raise
    return proc, master


def test_the_app_exits_when_its_terminal_closes_without_a_hangup_signal(tmp_path):
    """Started in its own session: no SIGHUP comes, the tty just ends."""
    proc, master = app_in_own_session(tmp_path)
    os.close(master)
    status = wait_exit(proc.pid)
    proc.returncode = 0  # reaped above
    assert status is not None, "the app kept running (and spinning) after its terminal closed"


def test_the_app_exits_on_sighup_even_when_the_terminal_stays(tmp_path):
    proc, master = app_in_own_session(tmp_path)
    try:
        proc.send_signal(signal.SIGHUP)
        status = wait_exit(proc.pid)
        proc.returncode = 0
    finally:
        os.close(master)
    assert status is not None and os.WEXITSTATUS(status) == 129
