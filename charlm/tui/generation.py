"""One completion in the app: its bookkeeping, and the loop its worker thread runs.

Every started generation ends in exactly one :class:`StreamDone`, whatever the
timing: the loop posts it from a ``finally``, and a generation is stopped by
its own :class:`threading.Event` rather than by cancelling the Textual worker
(a worker cancelled before its thread started never ran its body, so it never
said it was done, and the app waited on it for the rest of the session).

The pace (characters per second, 0 = as fast as the model goes) is read
before every character, so it changes live; waiting for the next character's
turn blocks on the stop event with a timeout, so a slow pace never spins.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.message import Message

from charlm.engine.engine import Engine
from charlm.engine.settings import DecodeSettings, LiveSettings
from charlm.tui.messages import StreamBuffer, StreamDone, StreamProgress
from charlm.tui.widgets.entry import Entry

#: Measured chars/s are over this many seconds of the stream.
RATE_WINDOW = 1.0
#: No rate is shown before the characters shown span this many seconds: over a frame or two,
#: one late frame halves or doubles the figure.
RATE_MIN_SPAN = 0.5


@dataclass
class Generation:
    """A completion being streamed into ``entry``.

    ``offset`` is how much the entry had generated before (a continuation
    appends), so the stream's positions become the entry's.
    """

    number: int
    entry: Entry
    settings: DecodeSettings
    offset: int
    buffer: StreamBuffer = field(default_factory=StreamBuffer)
    stop: threading.Event = field(default_factory=threading.Event)
    discarded: bool = False  # its entry was cleared away: its end changes nothing on screen
    started: float = field(default_factory=time.monotonic)
    _shown: deque[tuple[float, int]] = field(default_factory=deque)

    def shown(self, chars: int) -> None:
        """Record that the entry now shows ``chars`` characters of this generation."""
        now = time.monotonic()
        self._shown.append((now, chars))
        while len(self._shown) > 2 and now - self._shown[1][0] > RATE_WINDOW:
            self._shown.popleft()

    @property
    def rate(self) -> float:
        """Characters shown per second over the last second or so (NaN until the samples span
        RATE_MIN_SPAN)."""
        if len(self._shown) < 2:
            return float("nan")
        (t0, c0), (t1, c1) = self._shown[0], self._shown[-1]
        return (c1 - c0) / (t1 - t0) if t1 - t0 >= RATE_MIN_SPAN else float("nan")


class Pacer:
    """Hands out characters at a rate read live; blocks (never spins) between them."""

    def __init__(self, pace: Callable[[], int], stop: threading.Event) -> None:
        self.pace, self.stop = pace, stop
        self.next_at = 0.0

    def wait(self) -> tuple[bool, int]:
        """Wait for the next character's turn. Returns (go on, pace); (False, _) when stopped."""
        rate = self.pace()
        now = time.monotonic()
        if rate <= 0:
            self.next_at = now
            return not self.stop.is_set(), rate
        if self.next_at > now and self.stop.wait(self.next_at - now):
            return False, rate
        self.next_at = max(self.next_at, now - 1.0 / rate) + 1.0 / rate
        return not self.stop.is_set(), rate


def run_generation(engine: Engine, live: LiveSettings, context: str, gen: Generation,
                   pace: Callable[[], int], post: Callable[[Message], object],
                   cancelled: Callable[[], bool] = lambda: False) -> None:
    """Stream a completion of ``context`` into ``gen.buffer`` (runs in a worker thread).

    ``post`` reaches the UI (``post_message`` is thread-safe); ``cancelled``
    is the worker's own flag (the app is closing). Always posts one
    :class:`StreamDone`.
    """
    from charlm.engine.stream import Chunk, Finished, Mark

    def stopped() -> bool:
        return gen.stop.is_set() or cancelled()

    pacer = Pacer(pace, gen.stop)
    reason, error, results = "cancelled", "", ()
    buffer = gen.buffer
    try:
        for event in engine.stream(context, live, cancelled=stopped):
            if isinstance(event, Chunk):
                if not event.text:
                    continue
                if pace() <= 0:
                    if buffer.push(event.text, event.logprobs):
                        post(StreamProgress(gen.number))
                    continue
                for char, logprob in zip(event.text, event.logprobs, strict=True):
                    go, _ = pacer.wait()
                    if not go:
                        break  # the engine sees the stop before its next character
                    if buffer.push(char, (logprob,)):
                        post(StreamProgress(gen.number))
            elif isinstance(event, Mark):
                if buffer.mark(gen.offset + event.position, event.settings):
                    post(StreamProgress(gen.number))
            elif isinstance(event, Finished):
                reason, results = event.reason, event.hypotheses
    except Exception as exc:  # shown in the UI; the app keeps running
        reason, error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        post(StreamDone(gen.number, reason, error, tuple(results)))
