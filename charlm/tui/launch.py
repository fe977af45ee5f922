"""Open the Textual app (what `charlm` without `--once` runs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from charlm.errors import StoreEmptyError


def launch(model: str | None, overrides: Mapping[str, Any] | None = None, prompt: str = "") -> int:
    """Run the app with ``model`` (None = newest or built-in), ``overrides`` and ``prompt``.

    ``overrides`` are the decoding options given on the command line; the
    others come from the settings saved by the last session. The model's
    record is resolved here, before the terminal switches to the app, so an
    unknown name raises its CharlmError for the CLI to print as one line.
    The weights load in the app's worker; an empty store opens the app on a
    screen that says how to get a model. Returns the app's exit status
    (non-zero when its terminal went away).

    Raises:
        ModelNotFoundError, InvalidNameError, CorruptModelError.
    """
    from charlm import store

    try:
        store.resolve(model)
    except StoreEmptyError:
        pass
    from charlm.tui.app import CharlmApp

    app = CharlmApp(model_name=model, overrides=overrides or {}, prompt=prompt)
    app.run()
    return app.return_code or 0
