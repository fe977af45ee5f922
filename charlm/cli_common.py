"""What both command lines share: every failure ends with one line on stderr, never a traceback.

Exit statuses:

* 0 -- done;
* 1 (``EXIT_FAILURE``) -- the output could not be written: standard output
  closed (``>&-``), a full disk (``>/dev/full``), an I/O error; or out of memory;
* 2 (``EXIT_USAGE``) -- bad input: a usage error or a library error
  (:class:`~charlm.errors.CharlmError`), as ``Error: ...``;
* 130 (``EXIT_INTERRUPTED``) -- Ctrl-C, as ``Aborted.``;
* 141 (``EXIT_BROKEN_PIPE``) -- the reader of standard output went away
  (``charlm --once ... | head -c 10``): no message, the status a shell shows
  for a program that SIGPIPE ended, as ``seq 1000000 | head -1`` does. Python
  ignores SIGPIPE, so the write raises ``BrokenPipeError`` instead; it is
  caught and standard output is pointed at the null device, so that the
  interpreter's last flush at exit cannot fail again and print ``Exception
  ignored ... BrokenPipeError`` (the recipe of the Python docs, "Note on SIGPIPE").

Output that fails only when flushed (a short listing into ``/dev/full`` sits in
the buffer until exit) is flushed before the command returns, so that it
fails here, where it can be reported, rather than at interpreter shutdown.
Messages go through :func:`~charlm.data.sanitize.terminal_safe`: a file name
with an escape sequence or a newline in it is shown escaped, on one line.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import click

from charlm.data.sanitize import terminal_safe
from charlm.errors import CharlmError

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class CliError(click.ClickException):
    """A user error: printed as one line on stderr, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:  # noqa: ARG002 - click's signature
        say(f"Error: {self.format_message()}")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors into CliError at the edge of the program."""
    try:
        yield
    except CharlmError as exc:
        raise CliError(str(exc)) from None


def say(message: str) -> None:
    """Write ``message`` to stderr on one line, escaped for the terminal.

    When stderr itself is closed or full there is nowhere left to say it,
    and the exit status carries the failure alone.
    """
    with suppress(OSError, ValueError):  # ValueError: stderr already closed
        click.echo(terminal_safe(message, single_line=True), err=True)


class _BrokenPipe(Exception):
    """EPIPE on the way out, hidden from click (which would exit 1 on its own)."""


@contextmanager
def _broken_pipe_guard() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        raise _BrokenPipe from exc


def prepare_standard_streams() -> bool:
    """Make the standard streams safe to use; False when standard output is closed.

    A closed file descriptor 0, 1 or 2 is opened on the null device, so that no
    file opened later (a model being saved) takes its number and receives what
    a library prints. Standard output and error escape what they cannot encode
    (``\\udcff`` from an undecodable file name) instead of raising.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            with suppress(ValueError):  # a stream some test closed
                stream.reconfigure(errors="backslashreplace")
    return sys.stdout is not None


def _silence_stdout() -> None:
    """Point standard output at the null device: what is still buffered goes nowhere, without error."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # not a real file (tests)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _output_failed(exc: OSError) -> int:
    if exc.errno == errno.EPIPE:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    # A failed write leaves nothing buffered, so a failing stdout cannot be told apart
    # afterwards; flush what the command still holds (its output is kept if it can
    # be written) and point a stdout that fails even now at the null device.
    try:
        sys.stdout.flush()
    except OSError:
        _silence_stdout()
    where = f"{exc.filename}" if exc.filename else "cannot write the output"
    say(f"Error: {where}: {exc.strerror or exc}")
    return EXIT_FAILURE


class OneLineErrorsMixin:
    """Every way a command can end, as one line and an exit status (see the module docstring)."""

    def make_context(self, *args, **kwargs):
        with _broken_pipe_guard():  # --help into a closed pipe
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _broken_pipe_guard():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            if not prepare_standard_streams():
                say("Error: standard output is closed: there is nowhere to write the output")
                sys.exit(EXIT_FAILURE)
            code = self._run(args, prog_name, complete_var, **extra)
        except KeyboardInterrupt:  # a second Ctrl-C while the first one is being reported
            code = EXIT_INTERRUPTED
        sys.exit(code)

    def _run(self, args, prog_name, complete_var, **extra) -> int | str | None:
        try:
            try:
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
                code = rv if isinstance(rv, int) else 0
            except SystemExit as exc:
                code = exc.code
            sys.stdout.flush()  # fail here, where it can be reported, not at interpreter shutdown
            return code
        except (click.exceptions.Abort, KeyboardInterrupt):
            say("Aborted.")
            return EXIT_INTERRUPTED
        except click.ClickException as exc:
            say(f"Error: {exc.format_message()}")
            return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
        except _BrokenPipe:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        except OSError as exc:
            return _output_failed(exc)
        except UnicodeEncodeError as exc:  # a stream with a strict, narrow encoding
            _silence_stdout()
            say(f"Error: cannot write {exc.object[exc.start : exc.end]!r} in the output's encoding ({exc.encoding})")
            return EXIT_FAILURE
        except MemoryError:
            say("Error: out of memory")
            return EXIT_FAILURE


class Group(OneLineErrorsMixin, click.Group):
    pass


class Command(OneLineErrorsMixin, click.Command):
    pass
