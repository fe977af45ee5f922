"""Completion as you type: the model's continuation of a prompt, to the end of a few words.

The app shows it as ghost text after the cursor (:mod:`charlm.tui.widgets.ghost`).
It is decoded from the prompt's cached state (:meth:`PrefixCache.position
<charlm.engine.prefix.PrefixCache.position>`), so a keystroke costs one model
step for the new character plus one per suggested character, never a
re-read of the prompt.

A suggestion goes through the same streaming driver as a completion
(:func:`charlm.engine.stream.generate`), so it follows the settings a
completion would (n-gram blocking, stop strings, beam width) and never
contains the unknown symbol, which the driver masks. Deterministic modes
(greedy, beam) suggest what they decode; sampling modes suggest the greedy
path, so the ghost text does not change on every keystroke.

How far it runs: to the end of the word being typed, then ``words`` more
words (a word ends where whitespace follows a non-blank character), never
past a line break, and at most ``max_chars`` characters. Cut by that length,
it ends at the last whole word when it has one.

Cost, with the built-in model (LSTM 192, 2 CPU cores): a greedy suggestion
takes about 1.5 ms, a beam of width 5 about 5 ms (it runs until its beams
agree past the last word). Both fit in the frame of the keystroke that asked
for them, so beam search is decoded as it is, not greedy first and refined
after: a refinement would change the text under the cursor a frame later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from charlm.engine.modes import mode as mode_of
from charlm.engine.modes import shaping
from charlm.engine.settings import DecodeSettings
from charlm.engine.step import State, StepModel
from charlm.engine.stream import Chunk, Finished, generate

if TYPE_CHECKING:
    from charlm.engine.prefix import PrefixCache

#: Whole words a suggestion runs to after the one being typed.
WORDS = 2
#: The longest suggestion, in characters, unless the caller says otherwise.
MAX_CHARS = 40


def suggestion_settings(settings: DecodeSettings, max_chars: int) -> DecodeSettings:
    """What a suggestion decodes with: the user's settings when they are deterministic,
    else greedy (with the same n-gram blocking and stop strings); one result, ``max_chars`` long."""
    mode = settings.mode if mode_of(settings.mode).deterministic else "greedy"
    return settings.replace(mode=mode, num=1, length=max_chars)


def depends_on(settings: DecodeSettings) -> tuple:
    """What of ``settings`` a suggestion depends on: equal for two settings that suggest alike
    (a new temperature in a sampling mode changes no suggestion)."""
    s = suggestion_settings(settings, 1)
    return (*shaping(s), s.stop)


def word_end(previous: str, text: str, words: int) -> int | None:
    """Where a suggestion ``text`` following ``previous`` ends: before the line break, or before
    the whitespace that ends the ``words + 1``-th word. None when ``text`` reaches neither."""
    blank = not previous or previous.isspace()
    ends = 0
    for i, char in enumerate(text):
        if char == "\n":
            return i
        if char.isspace():
            if not blank:
                ends += 1
                if ends > words:
                    return i
            blank = True
        else:
            blank = False
    return None


def last_word_end(previous: str, text: str) -> int | None:
    """Where the last whole word of ``text`` (following ``previous``) ends; None if no word ends in it."""
    blank = not previous or previous.isspace()
    end = None
    for i, char in enumerate(text):
        if char.isspace() and not blank:
            end = i
        blank = char.isspace()
    return end


class _Resumed:
    """A step model whose prompt was already read: ``start`` gives the known position.

    The streaming driver begins with ``model.start(prompt_ids)``; with this
    wrapper that costs nothing, and the ids still feed n-gram blocking.
    """

    def __init__(self, model: StepModel, state: State, logprobs: np.ndarray) -> None:
        self.model, self.state, self.logprobs = model, state, logprobs
        self.vocab_size = model.vocab_size

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        return self.state, np.array(self.logprobs, dtype=np.float64)

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        return self.model.step(state, ids)


def continuation(model: StepModel, state: State, logprobs: np.ndarray, context: Sequence[int] | np.ndarray,
                 settings: DecodeSettings, chars: Sequence[str], *, words: int = WORDS,
                 max_chars: int = MAX_CHARS, never: Sequence[int] = (),
                 cancelled: Callable[[], bool] | None = None) -> str | None:
    """The suggestion after a prompt the model has read (see the module docstring).

    Args:
        model: the step model.
        state: the model's batch-1 state after the prompt (never modified).
        logprobs: next-character log-probs after the prompt, shape (vocab,).
        context: the ids the model read (non-empty; n-gram blocking looks at them).
        settings: the user's decoding settings (see :func:`suggestion_settings`).
        chars: ``chars[i]`` is the character of id ``i``.
        words: whole words after the one being typed.
        max_chars: the longest suggestion.
        never: ids never suggested (the unknown symbol).
        cancelled: polled before every model step; True gives up.

    Returns:
        The suggestion, without trailing blanks ("" when the model would begin a new
        line), or None when cancelled.
    """
    if max_chars <= 0:
        return ""
    s = suggestion_settings(settings, max_chars)
    history = context if s.no_repeat_ngram else context[-1:]
    previous = chars[int(context[-1])]
    text = ""
    events = generate(_Resumed(model, state, logprobs), history, s, chars, cancelled=cancelled, never=never)
    try:
        for event in events:
            if isinstance(event, Chunk):
                text += event.text
                end = word_end(previous, text, words)
                if end is not None:
                    return text[:end].rstrip()
            elif isinstance(event, Finished):
                if event.reason == "cancelled":
                    return None
                text = event.text
                end = word_end(previous, text, words)
                if end is None and event.reason == "length":  # cut by max_chars: end at a whole word
                    end = last_word_end(previous, text)
                return text[:end].rstrip()
    finally:
        events.close()
    return text.rstrip()


def suggest(cache: PrefixCache, text: str, settings: DecodeSettings, *, words: int = WORDS,
            max_chars: int = MAX_CHARS, cancelled: Callable[[], bool] | None = None) -> str | None:
    """The suggestion after prompt ``text``, from the state the cache holds for it.

    The cache reads only what is new since its last text (one step per typed
    character), and the suggestion then costs one step per character.
    An empty prompt gets no suggestion (""); None means cancelled.
    """
    if not text:
        return ""
    if cancelled is not None and cancelled():
        return None
    at = cache.position(text)
    engine = cache.engine
    return continuation(engine.model, at.state, at.logprobs, at.ids, settings, engine.vocab.chars,
                        words=words, max_chars=max_chars, never=(engine.vocab.unk_id,), cancelled=cancelled)
