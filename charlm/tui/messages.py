"""Messages between the TUI's workers, widgets and screens, and the stream mailbox.

Workers run in threads and reach the UI only through these messages
(``post_message`` is thread-safe). Streamed text does not travel inside the
messages: a generation worker fills a :class:`StreamBuffer` and posts a small
:class:`StreamProgress` wake-up only when the UI has drained everything it
was told about, so a model that produces thousands of characters a second
costs one message per UI turn, while the first character after a pause is
still posted immediately.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from charlm.engine.engine import Engine
    from charlm.engine.settings import DecodeSettings
    from charlm.engine.stream import Hypothesis


class StreamBuffer:
    """Streamed text a generation worker produced and the UI has not drawn yet.

    Thread-safe. :meth:`push` answers whether the caller must wake the UI:
    only the first push after a :meth:`drain` does, so wake-ups never pile up
    in the message queue however fast the model is.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text: list[str] = []
        self._logprobs: list[float] = []
        self._marks: list[tuple[int, DecodeSettings]] = []
        self._awake = False

    def push(self, text: str, logprobs: Sequence[float]) -> bool:
        """Add a chunk; True when no wake-up is pending and the caller should post one."""
        with self._lock:
            self._text.append(text)
            self._logprobs.extend(logprobs)
            return self._wake()

    def mark(self, position: int, settings: DecodeSettings) -> bool:
        """Note a live change of settings at ``position``; True when the caller should wake the UI."""
        with self._lock:
            self._marks.append((position, settings))
            return self._wake()

    def _wake(self) -> bool:
        if self._awake:
            return False
        self._awake = True
        return True

    def drain(self) -> tuple[str, list[float]]:
        """Everything pushed since the last drain (text, per-character log-probs)."""
        text, logprobs, _ = self.drain_all()
        return text, logprobs

    def drain_all(self) -> tuple[str, list[float], list[tuple[int, DecodeSettings]]]:
        """Text, log-probs and setting marks pushed since the last drain."""
        with self._lock:
            text, logprobs, marks = "".join(self._text), self._logprobs, self._marks
            self._text, self._logprobs, self._marks, self._awake = [], [], [], False
            return text, logprobs, marks


@dataclass
class StreamProgress(Message):
    """Generation ``generation`` has new text waiting in its buffer."""

    generation: int


@dataclass
class StreamDone(Message):
    """Generation ``generation`` ended: "length", "stop", "cancelled" or "error".

    ``results`` are its ``num`` results, the streamed one first.
    """

    generation: int
    reason: str
    error: str = ""
    results: tuple[Hypothesis, ...] = ()


@dataclass
class AnalysisReady(Message):
    """For prompt ``text``: likeliest next characters, perplexity (NaN if empty), unknown chars."""

    text: str
    distribution: list[tuple[str, float]]
    perplexity: float
    unknown: tuple[str, ...]


@dataclass
class EngineLoaded(Message):
    """A model finished loading in the background."""

    engine: Engine


@dataclass
class EngineFailed(Message):
    """A model could not be loaded; ``empty`` means there is no model at all."""

    error: str
    empty: bool = False


@dataclass
class AdjustSetting(Message):
    """Step a setting (``key`` of the settings panel) up (+1) or down (-1)."""

    key: str
    direction: int


@dataclass
class EditSetting(Message):
    """The user wants to type a setting's value (seed, stop string)."""

    key: str


@dataclass
class FocusPrompt(Message):
    """Back to the prompt (Enter on a stepped setting)."""


@dataclass
class RetryLoad(Message):
    """Load the model again (the no-model screen's retry)."""


@dataclass
class ChooseModel(Message):
    """The user asked for the model picker."""


@dataclass
class PickChar(Message):
    """The user clicked a character in the next-character panel."""

    char: str
