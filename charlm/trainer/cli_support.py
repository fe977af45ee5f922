"""What the `charlm-train` commands share: corpus arguments, default names, and running an
event generator so that Ctrl-C, SIGTERM and SIGHUP all save the best model so far."""

from __future__ import annotations

import dataclasses
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from charlm.cli_common import EXIT_INTERRUPTED, CliError

#: The signals that end a training run the way Ctrl-C does (schedulers, `timeout`, closed terminals).
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def shown(value: Any) -> str:
    """A file name, path or model name for rich output: markup escaped, control characters visible."""
    from charlm.data.sanitize import terminal_safe

    return escape(terminal_safe(str(value), single_line=True))


def corpus_paths(corpus: tuple[str, ...], sample: str | None) -> list[str]:
    from charlm.data.samples import sample_path

    paths = list(corpus)
    if sample:
        paths.append(str(sample_path(sample)))
    if not paths:
        raise CliError("give a CORPUS (file, folder or -) or --sample NAME")
    return paths


def default_name(paths: list[str], arch: str) -> str:
    """A store name derived from the first corpus and the architecture."""
    stem = "stdin" if paths[0] == "-" else Path(paths[0].rstrip("/")).stem or "corpus"
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "-", stem).strip("-.") or "corpus"
    return f"{stem[:50]}-{arch}" if arch else stem[:50]


def name_or_default(name: str | None, paths: list[str], sample: str | None, corpus: tuple[str, ...],
                    arch: str) -> str:
    """``--name`` as given (an empty one is an error, not "use the default"), else the default."""
    if name is not None:
        from charlm.store import validate_name

        return validate_name(name)
    return default_name(paths if not sample or corpus else [sample], arch)


def load_for(paths: list[str], normalization, console: Console):
    """Load the corpus, printing its warnings; sources of shipped samples get stable labels."""
    from charlm.data import load_corpus
    from charlm.data.samples import sample_label

    corpus = load_corpus(paths, normalization)
    corpus = dataclasses.replace(corpus, sources=tuple(sample_label(s) for s in corpus.sources))
    for warning in corpus.warnings:
        console.print(f"[yellow]warning:[/] {shown(warning)}", highlight=False)
    return corpus


class _Stopped:
    """Which signal stopped the run (SIGINT unless SIGTERM/SIGHUP came)."""

    signum = signal.SIGINT


@contextmanager
def stop_signals_interrupt() -> Iterator[_Stopped]:
    """While training, SIGTERM and SIGHUP raise KeyboardInterrupt, as Ctrl-C does, so the
    best model is saved; the handlers are restored afterwards."""
    stopped = _Stopped()

    def handler(signum, _frame):
        stopped.signum = signum
        raise KeyboardInterrupt

    previous = {}
    for sig in STOP_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        yield stopped
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_code(stopped: _Stopped) -> int:
    """130 for Ctrl-C, 128 + N for signal N (143 for SIGTERM, 129 for SIGHUP)."""
    return EXIT_INTERRUPTED if stopped.signum == signal.SIGINT else 128 + int(stopped.signum)


def _silence_stdout() -> None:
    """Point stdout at the null device, so nothing more fails writing to a closed pipe."""
    import os
    import sys

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def drive(events: Iterator, render: Callable[[Any], None]) -> bool:
    """Run an event generator, rendering each event; returns True if it was interrupted.

    A KeyboardInterrupt (Ctrl-C, or a stop signal) that arrives while an event
    is being rendered is thrown into the generator, which saves and finishes
    (fit yields its final event). One that arrives while the generator itself
    runs is raised inside it and handled there; if it escapes, the generator
    is over and the interrupt propagates.
    """
    interrupted = throw = False
    try:
        while True:
            try:
                event = events.throw(KeyboardInterrupt()) if throw else next(events)
            except StopIteration:
                return interrupted
            throw = False
            try:
                render(event)
            except KeyboardInterrupt:
                throw = interrupted = True
            except BrokenPipeError:  # `charlm-train fit ... | head`: stop as Ctrl-C does, saving
                _silence_stdout()
                throw = interrupted = True
    finally:
        close = getattr(render, "close", None)
        if close is not None:
            close()
