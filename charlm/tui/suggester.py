"""The prompt's suggester: the model's continuation from the screen's prefix cache.

The main screen already keeps the prompt's model states in a
:class:`~charlm.engine.prefix.PrefixCache` for the next-character panel;
suggestions continue from the same states (:mod:`charlm.engine.suggest`), so
a keystroke is read by the model once for both. Runs in the prompt's worker
thread: it reads the app's live settings (thread-safe) and the cache (locked).
"""

from __future__ import annotations

from collections.abc import Callable

from charlm.engine.prefix import PrefixCache
from charlm.engine.settings import DecodeSettings
from charlm.engine.suggest import suggest


class ModelSuggester:
    """A :class:`~charlm.tui.widgets.ghost.Suggester` over the current model and settings.

    Args:
        cache: the prefix cache of the current model (None while none is loaded).
        settings: the decoding settings in force.
        max_chars: the longest suggestion the user wants.
    """

    def __init__(self, cache: Callable[[], PrefixCache | None], settings: Callable[[], DecodeSettings],
                 max_chars: Callable[[], int]) -> None:
        self._cache, self._settings, self._max_chars = cache, settings, max_chars

    def suggest(self, text: str, cancelled: Callable[[], bool]) -> str | None:
        cache = self._cache()
        if cache is None:
            return ""
        return suggest(cache, text, self._settings(), max_chars=self._max_chars(), cancelled=cancelled)
