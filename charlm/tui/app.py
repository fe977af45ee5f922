"""The charlm Textual app: one engine, one set of live decoding settings, a few screens.

The app owns what outlives a screen: the :class:`~charlm.engine.engine.Engine`
(a reactive the main screen watches, so a model switch refreshes every
panel) and the :class:`~charlm.engine.settings.LiveSettings` every
generation reads. It is built either around an injected engine (tests, the
benchmark) or a model name that a worker loads after the first frame, so
the UI appears at once and never blocks on disk. Nothing here imports
TensorFlow: the numpy runtime serves the TUI.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from charlm.engine.engine import Engine
from charlm.engine.settings import MODE_LABELS, MODES, DecodeSettings, LiveSettings
from charlm.errors import CharlmError, StoreEmptyError
from charlm.tui.messages import EngineFailed, EngineLoaded
from charlm.tui.screens.help import HelpScreen
from charlm.tui.screens.main import MainScreen
from charlm.tui.screens.model_info import ModelInfoScreen
from charlm.tui.screens.model_picker import ModelPicker
from charlm.tui.screens.no_model import NoModelScreen


class CharlmApp(App[None]):
    """Complete prompts with a character-level model and watch what it expects.

    Args:
        engine: a ready engine (tests inject a toy one); None loads ``model_name``.
        model_name: stored model name or folder; None means the newest (or built-in).
        settings: initial decoding settings.
        prompt: initial prompt text.
        live: the LiveSettings generations read (tests pass a recording one).
    """

    CSS_PATH = "charlm.tcss"
    TITLE = "charlm"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide"), (120, "-very-wide")]
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f8", "choose_model", "Model"),
        Binding("f9", "model_info", "Info", show=False),
    ]

    engine: reactive[Engine | None] = reactive(None, init=False)

    def __init__(self, engine: Engine | None = None, *, model_name: str | None = None,
                 settings: DecodeSettings | None = None, prompt: str = "",
                 live: LiveSettings | None = None) -> None:
        super().__init__()
        self.live = live if live is not None else LiveSettings(settings or DecodeSettings())
        if live is not None and settings is not None:
            live.set(settings)
        self.model_name = model_name
        self.initial_prompt = prompt
        self.load_error = ""
        self.set_reactive(CharlmApp.engine, engine)

    @property
    def model_label(self) -> str:
        """The model's name as the header and settings panel show it."""
        if self.engine is None:
            return "no model" if self.load_error else "loading…"
        record = self.engine.record
        if record is None:
            return "toy"
        return f"{record.name} (built-in)" if record.builtin else record.name

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without any model there is nothing to pick or describe."""
        if action in ("choose_model", "model_info") and isinstance(self.screen, NoModelScreen):
            return not self.screen.empty and action == "choose_model"
        return True

    def get_default_screen(self) -> Screen:
        return MainScreen(self.initial_prompt)

    def on_mount(self) -> None:
        if self.engine is None:
            self.load_model(self.model_name)

    # -- model loading --------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_model(self, name: str | None) -> None:
        """Read a model from the store off the UI thread."""
        try:
            engine = Engine.load(name)
        except StoreEmptyError as exc:
            self.post_message(EngineFailed(str(exc), empty=True))
        except CharlmError as exc:
            self.post_message(EngineFailed(str(exc)))
        except Exception as exc:  # a broken file must not take the app down
            self.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(EngineLoaded(engine))

    def on_engine_loaded(self, message: EngineLoaded) -> None:
        first = self.engine is None
        self.load_error = ""
        self.engine = message.engine
        while isinstance(self.screen, NoModelScreen):
            self.pop_screen()
        if not first:
            self.notify(f"Now using model {self.model_label}.")

    def on_engine_failed(self, message: EngineFailed) -> None:
        if self.engine is not None and not message.empty:
            self.notify(message.error, title="Could not load the model", severity="error")
            return
        self.load_error = message.error
        if isinstance(self.screen, NoModelScreen):
            self.screen.show_error(message.error, message.empty)
        else:
            self.push_screen(NoModelScreen(message.error, message.empty))

    # -- actions --------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_choose_model(self) -> None:
        if isinstance(self.screen, ModelPicker):
            return
        current = self.engine.record.name if self.engine and self.engine.record else None

        def chosen(name: str | None) -> None:
            if name is not None and name != current:
                self.load_model(name)

        self.push_screen(ModelPicker(current), chosen)

    def action_model_info(self) -> None:
        if self.engine is not None and not isinstance(self.screen, ModelInfoScreen):
            self.push_screen(ModelInfoScreen(self.engine, self.model_label))

    def action_set_mode(self, mode: str) -> None:
        """Switch decoding mode (command palette); a running completion follows."""
        self.live.update(mode=mode)
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.show_settings()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Command palette (ctrl+p): every mode, the model picker, info and help."""
        yield from super().get_system_commands(screen)
        for mode in MODES:
            yield SystemCommand(f"Mode: {MODE_LABELS[mode]}", f"Decode with {MODE_LABELS[mode]}",
                                lambda mode=mode: self.action_set_mode(mode))
        yield SystemCommand("Choose model", "Switch to another stored model",
                            self.action_choose_model)
        yield SystemCommand("Model info", "Config, corpus and training history",
                            self.action_model_info)
        yield SystemCommand("Keys and help", "What every key does", self.action_help)
