"""How both commands end: one line on stderr and an exit status, never a traceback.

The output failures run real processes: what matters happens in the file
descriptors and at interpreter shutdown, which an in-process runner fakes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from charlm.cli_common import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
    Command,
    user_errors,
)
from charlm.errors import CorpusError
from tests.conftest import random_model

CHARLM = [sys.executable, "-m", "charlm"]
CHARLM_TRAIN = [sys.executable, "-m", "charlm.trainer.cli"]
TEXT = "hola che, ¿qué tal? todo bien.\n"
HOSTILE = "a\x1b]0;pwned\x07\nb\u202e.srt"
SHOWN = "a\\x1b]0;pwned\\x07\\nb\\u202e.srt"


def completion_into_a_pipe(length: int = 100_000) -> subprocess.Popen:
    """``charlm --once`` writing ``length`` characters into a pipe the test holds."""
    return subprocess.Popen([*CHARLM, "--once", "hola", "-n", str(length)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ.copy())


@pytest.fixture
def model():
    return random_model("m", "gru", units=8, embedding=4, text=TEXT)[0]


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(cmd, stderr=subprocess.PIPE, env=os.environ.copy(), timeout=60, **kwargs)


def assert_one_line(stderr: bytes, expected: str) -> None:
    assert stderr.decode() == expected + "\n"


# ------------------------------------------------------- output that fails


def test_closed_stdout_is_one_line_and_status_1(model):
    result = run([*CHARLM, "--once", "hola", "-n", "5"], stdout=None, preexec_fn=lambda: os.close(1))
    assert result.returncode == EXIT_FAILURE
    assert_one_line(result.stderr, "Error: standard output is closed: there is nowhere to write the output")


@pytest.mark.parametrize(
    "args",
    [
        [*CHARLM, "--once", "hola", "-n", "50"],
        [*CHARLM, "--once", "hola", "-n", "50", "--json"],
        [*CHARLM_TRAIN, "list"],
    ],
    ids=["once", "once --json", "list"],
)
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_disk_is_one_line_and_status_1(model, args):
    with open("/dev/full", "w") as full:
        result = run(args, stdout=full)
    assert result.returncode == EXIT_FAILURE
    assert_one_line(result.stderr, "Error: cannot write the output: No space left on device")


def test_reader_gone_before_the_first_write_ends_quietly_with_141(model):
    proc = completion_into_a_pipe(2000)
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_BROKEN_PIPE
    assert stderr == b""


def test_reader_that_stops_after_ten_bytes_ends_it_quietly_with_141(model):
    proc = completion_into_a_pipe()
    head = proc.stdout.read(10)
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=60)
    assert len(head) == 10
    assert proc.returncode == EXIT_BROKEN_PIPE
    assert stderr == b""


# ------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_while_streaming_is_aborted_and_130(model):
    proc = completion_into_a_pipe()
    assert proc.stdout.read(1)  # generating
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED
    assert stderr.decode().strip() == "Aborted."


INTERRUPT_IMPORT = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            raise KeyboardInterrupt

sys.meta_path.insert(0, CtrlC())
from charlm import entry
getattr(entry, sys.argv[2])()
"""


@pytest.mark.parametrize(
    ("module", "command"),
    [("click", "charlm"), ("charlm.engine.modes", "charlm"), ("rich.console", "charlm_train")],
)
def test_ctrl_c_during_start_up_imports_is_aborted_and_130(module, command):
    result = run([sys.executable, "-c", INTERRUPT_IMPORT, module, command])
    assert result.returncode == EXIT_INTERRUPTED
    assert result.stderr.decode() == "\nAborted.\n"


# ------------------------------------------------------------ error messages


def test_error_naming_a_hostile_file_is_escaped_on_one_line():
    result = run([*CHARLM_TRAIN, "fit", HOSTILE])
    assert result.returncode == EXIT_USAGE
    assert_one_line(result.stderr, f"Error: {SHOWN}: no such file or folder")


def invoke(action) -> click.testing.Result:
    @click.command(cls=Command)
    def cmd() -> None:
        action()

    return CliRunner().invoke(cmd, [])


def raise_(exc: BaseException):
    def action():
        raise exc

    return action


def test_library_error_is_one_escaped_line_and_status_2():
    def action():
        with user_errors():
            raise CorpusError(f"{HOSTILE}: looks like a binary file, not text")

    result = invoke(action)
    assert result.exit_code == EXIT_USAGE
    assert result.output == f"Error: {SHOWN}: looks like a binary file, not text\n"


def test_cli_error_message_is_escaped():
    result = invoke(raise_(CliError(f"bad name {HOSTILE}")))
    assert (result.exit_code, result.output) == (EXIT_USAGE, f"Error: bad name {SHOWN}\n")


def test_usage_error_is_one_line_and_status_2():
    @click.command(cls=Command)
    @click.option("--n", type=int)
    def cmd(n) -> None:
        pass

    result = CliRunner().invoke(cmd, ["--n", "x"])
    assert result.exit_code == EXIT_USAGE
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")


def test_os_error_names_its_file_and_is_status_1():
    result = invoke(raise_(PermissionError(13, "Permission denied", HOSTILE)))
    assert (result.exit_code, result.output) == (EXIT_FAILURE, f"Error: {SHOWN}: Permission denied\n")


def test_out_of_memory_is_one_line():
    result = invoke(raise_(MemoryError()))
    assert (result.exit_code, result.output) == (EXIT_FAILURE, "Error: out of memory\n")


def test_keyboard_interrupt_is_aborted_and_130():
    result = invoke(raise_(KeyboardInterrupt()))
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.output.strip() == "Aborted."


def test_exit_status_of_the_command_is_kept():
    assert invoke(lambda: sys.exit(3)).exit_code == 3
    assert invoke(lambda: None).exit_code == 0
