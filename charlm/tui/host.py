"""What a screen may ask of the app: the small interface between the two layers.

The app (:class:`~charlm.tui.app.CharlmApp`) owns everything that outlives a
screen: the engine, the live decoding settings, the view settings, the
prompt history. Screens import this protocol, never the app module, and
watch the app's reactives ``engine``, ``settings`` and ``view`` through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from charlm.engine.engine import Engine
    from charlm.engine.settings import DecodeSettings, LiveSettings
    from charlm.tui.prefs import ViewSettings


@dataclass(frozen=True)
class Command:
    """One command palette entry a screen offers."""

    title: str
    help: str
    run: Callable[[], object]


class Host(Protocol):
    """The app as its screens see it."""

    engine: Engine | None
    settings: DecodeSettings
    view: ViewSettings
    live: LiveSettings
    history: list[str]

    @property
    def model_label(self) -> str: ...

    def update_settings(self, settings: DecodeSettings) -> None:
        """Make ``settings`` the live ones (a running completion reads them next character)."""

    def update_view(self, view: ViewSettings) -> None: ...

    def remember_prompt(self, prompt: str) -> None: ...

    def action_choose_model(self) -> None: ...


@runtime_checkable
class CommandSource(Protocol):
    """A screen whose actions the command palette lists."""

    def commands(self) -> Iterable[Command]: ...
