"""Entry points of the two commands: Ctrl-C at any moment ends with one line and status 130.

Once a command runs, :class:`charlm.cli_common.OneLineErrorsMixin` turns Ctrl-C
into ``Aborted.`` and status 130. Before that, Python spends a noticeable
moment importing click, numpy and the command's modules; a Ctrl-C then would
print a traceback of whatever import it interrupted. The console scripts
(and ``python -m charlm``) therefore start here, where nothing but ``sys`` is
imported before the guard is in place.
"""

import sys

EXIT_INTERRUPTED = 130


def _aborted() -> None:
    if sys.stderr is not None:
        try:
            sys.stderr.write("\nAborted.\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr gone too: the exit status says it
            pass
    sys.exit(EXIT_INTERRUPTED)


def _run(module: str) -> None:
    try:
        from importlib import import_module

        import_module(module).cli()
    except KeyboardInterrupt:
        _aborted()


def charlm() -> None:
    """``charlm``: the app, or ``--once``."""
    _run("charlm.tui.cli")


def charlm_train() -> None:
    """``charlm-train``: train and manage models."""
    _run("charlm.trainer.cli")
