"""Attacks with input that never ends: ``/dev/zero`` or an endless pipe on stdin, a corpus larger
than charlm can hold. Each ends in one line and exit 2, with memory bounded by a declared limit."""

from __future__ import annotations

import io
import subprocess

import pytest

from charlm.data import corpus as corpus_module
from charlm.data.corpus import load_corpus
from charlm.errors import CorpusError
from charlm.tui import cli as once_cli
from tests.hostile.conftest import spawn


class Endless(io.RawIOBase):
    """A pipe that never closes (``yes hola``)."""

    def __init__(self, line: bytes = b"hola che\n"):
        self.line = line

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = len(buffer)
        chunk = (self.line * (n // len(self.line) + 1))[:n]
        buffer[:n] = chunk
        return n


class EndlessStdin:
    def __init__(self, line: bytes = b"hola che\n"):
        self.buffer = io.BufferedReader(Endless(line))


@pytest.mark.parametrize("module", [["charlm.trainer.cli", "fit", "-", "--name", "z"], ["charlm", "--once"]])
def test_dev_zero_on_stdin_is_refused_in_one_line(charlm_home, module):
    with open("/dev/zero", "rb") as zero:
        proc = spawn(module, charlm_home, stdin=zero)
        try:
            out, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
    assert proc.returncode == 2, err[-2000:]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, err[-2000:]
    assert out == ""


def test_an_endless_pipe_as_corpus_stops_at_the_limit(monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_CORPUS_BYTES", 5_000_000)
    monkeypatch.setattr(corpus_module.sys, "stdin", EndlessStdin())
    with pytest.raises(CorpusError, match=r"<stdin>: the corpus would be larger than 5,000,000 bytes"):
        load_corpus(["-"])


def test_an_endless_binary_pipe_is_refused_from_its_first_megabyte(monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_CORPUS_BYTES", 50_000_000)
    monkeypatch.setattr(corpus_module.sys, "stdin", EndlessStdin(b"\x00\x01\x02\x89PNG"))
    with pytest.raises(CorpusError, match="looks like a binary file"):
        load_corpus(["-"])


def test_files_together_larger_than_the_limit_name_the_one_that_crosses_it(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_CORPUS_BYTES", 1_000)
    (tmp_path / "a.txt").write_text("hola che, ¿qué tal?\n" * 25)
    (tmp_path / "b.txt").write_text("hola che, ¿qué tal?\n" * 25)
    with pytest.raises(CorpusError, match=r"b\.txt: the corpus would be larger than 1,000 bytes with the files"):
        load_corpus([tmp_path])
    assert load_corpus([tmp_path / "a.txt"]).documents  # one of them alone is fine


def test_an_endless_prompt_on_stdin_stops_at_the_limit(monkeypatch):
    monkeypatch.setattr(once_cli, "MAX_PROMPT_CHARS", 100_000)
    endless = io.TextIOWrapper(io.BufferedReader(Endless()), encoding="utf-8")
    with pytest.raises(once_cli.CliError, match="longer than 100,000 characters"):
        once_cli.read_prompt(None, endless)
    assert once_cli.read_prompt("hola", io.StringIO("che ")) == "che hola"


def test_yes_piped_into_once_ends_with_one_line(charlm_home):
    yes = subprocess.Popen(["yes", "hola che"], stdout=subprocess.PIPE)
    try:
        proc = spawn(["charlm", "--once", "-n", "5"], charlm_home, stdin=yes.stdout)
        out, err = proc.communicate(timeout=120)
    finally:
        yes.kill()
        yes.wait()
    assert proc.returncode == 2
    assert err.strip() == ("Error: the prompt on stdin is longer than 10,000,000 characters; "
                           "give its end instead (e.g. tail -c 100000)")
