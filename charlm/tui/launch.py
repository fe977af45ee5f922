"""Open the Textual app (placeholder until the app lands)."""

from __future__ import annotations

from charlm.engine.settings import DecodeSettings
from charlm.errors import CharlmError


def launch(model: str | None, settings: DecodeSettings, prompt: str = "") -> None:
    raise CharlmError("the interactive app is not available yet; use `charlm --once PROMPT`")
