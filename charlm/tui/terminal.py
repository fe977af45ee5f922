"""The app's terminal: refuse to start without one, and leave when it goes away.

Without these checks ``charlm`` in a pipe drew the app onto stderr and never
exited, and an app whose terminal closed without sending it SIGHUP (a
session started with ``setsid``, ``nohup``, or a shell that does not pass
the hang-up on) kept running detached, its input thread spinning on
end-of-file at 40-60% of a core.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

#: How often the terminal is checked (a poll() with no wait: microseconds).
CHECK_EVERY = 0.5
#: If a clean exit has not finished this long after the terminal went away, stop anyway.
FORCE_EXIT_AFTER = 3.0
#: Exit status after a hang-up, as a shell reports a death by SIGHUP.
HANGUP_STATUS = 128 + getattr(signal, "SIGHUP", 1)


def terminal_problem(stdin: IO | None = None, stdout: IO | None = None,
                     env: Mapping[str, str] | None = None) -> str | None:
    """Why the app cannot run here (a sentence to print), or None when it can."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    env = os.environ if env is None else env
    use_once = "use `charlm --once PROMPT` (or pipe the prompt into it) instead"
    for name, stream in (("input", stdin), ("output", stdout)):
        try:
            is_tty = stream is not None and stream.isatty()
        except (ValueError, OSError):  # closed
            is_tty = False
        if not is_tty:
            return f"the app needs a terminal, but its {name} is not one: {use_once}"
    if env.get("TERM", "") in ("dumb", ""):
        return f"the app needs a terminal that can draw (TERM={env.get('TERM', '')!r}): {use_once}"
    return None


def hung_up(fd: int) -> bool:
    """Whether the terminal on ``fd`` has gone away (its other end closed, or fd invalid).

    Uses ``poll``, which reports the hang-up without reading: the app's input
    thread keeps every byte.
    """
    poller = select.poll()
    poller.register(fd, select.POLLHUP | select.POLLERR | select.POLLNVAL)
    try:
        events = poller.poll(0)
    except OSError:
        return True
    return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in events)


def watch_terminal(app: App) -> None:
    """Make ``app`` exit when its terminal goes away, however it was started.

    SIGHUP (a closed tmux pane or ssh session) asks the app to exit, and a
    timer polls the terminal for the case where no signal comes. If the
    clean exit cannot finish (writing to a dead terminal may block or
    fail), the process ends after :data:`FORCE_EXIT_AFTER` seconds.
    """
    try:
        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
    except (ValueError, OSError):
        fd = -1

    def gone() -> None:
        if getattr(app, "_terminal_gone", False):
            return
        app._terminal_gone = True  # type: ignore[attr-defined]
        timer = threading.Timer(FORCE_EXIT_AFTER, os._exit, (HANGUP_STATUS,))
        timer.daemon = True
        timer.start()
        app.exit(return_code=HANGUP_STATUS)

    import asyncio

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, gone)
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):  # no SIGHUP here
        pass
    if fd >= 0 and hasattr(select, "poll"):
        app.set_interval(CHECK_EVERY, lambda: gone() if hung_up(fd) else None)
