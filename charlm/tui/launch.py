"""Open the Textual app (what `charlm` without `--once` runs)."""

from __future__ import annotations

from charlm.engine.settings import DecodeSettings
from charlm.errors import StoreEmptyError


def launch(model: str | None, settings: DecodeSettings, prompt: str = "") -> None:
    """Run the app with ``model`` (None = newest or built-in), ``settings`` and ``prompt``.

    The model's record is resolved here, before the terminal switches to the
    app, so an unknown name raises its CharlmError for the CLI to print as one
    line. The weights load in the app's worker; an empty store opens the app
    on a screen that says how to get a model.

    Raises:
        ModelNotFoundError, InvalidNameError, CorruptModelError.
    """
    from charlm import store

    try:
        store.resolve(model)
    except StoreEmptyError:
        pass
    from charlm.tui.app import CharlmApp

    CharlmApp(model_name=model, settings=settings, prompt=prompt).run()
