"""What both command lines share: one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from charlm.errors import CharlmError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """A user error: printed as one line on stderr, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:  # noqa: ARG002 - click's signature
        click.echo(f"Error: {self.format_message()}", err=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors into CliError at the edge of the program."""
    try:
        yield
    except CharlmError as exc:
        raise CliError(str(exc)) from None


class OneLineErrorsMixin:
    """Usage errors as a single ``Error: ...`` line instead of usage + hint + error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
        except OSError as exc:  # e.g. a closed pipe on stdout
            if getattr(exc, "errno", None) == 32:
                sys.exit(0)
            raise
        sys.exit(rv if isinstance(rv, int) else 0)


class Group(OneLineErrorsMixin, click.Group):
    pass


class Command(OneLineErrorsMixin, click.Command):
    pass
