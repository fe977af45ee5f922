"""The charlm Textual app: one engine, one set of live decoding settings, a few screens.

The app owns what outlives a screen (the :class:`~charlm.tui.host.Host`
interface its screens use): the :class:`~charlm.engine.engine.Engine`, the
:class:`~charlm.engine.settings.LiveSettings` every generation reads, the
view settings and the prompt history, the last three saved between launches
(:mod:`charlm.tui.prefs`). ``engine``, ``settings`` and ``view`` are reactives
the screens watch. The app is built either around an injected engine (tests,
the benchmark) or a model name that a worker loads after the first frame, so
the UI appears at once and never blocks on disk. Nothing here imports
TensorFlow: the numpy runtime serves the TUI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from charlm.data.sanitize import terminal_safe
from charlm.engine.engine import Engine
from charlm.engine.settings import DecodeSettings, LiveSettings
from charlm.errors import CharlmError, StoreEmptyError
from charlm.tui import prefs
from charlm.tui.host import CommandSource
from charlm.tui.messages import EngineFailed, EngineLoaded, RetryLoad
from charlm.tui.prefs import ViewSettings
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
        settings: decoding settings to start with (instead of the saved ones).
        overrides: changes to the saved settings (the options given on the command line).
        prompt: initial prompt text.
        live: the LiveSettings generations read (tests pass a recording one).
        remember: save settings and prompt history in the user config dir.
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
    settings: reactive[DecodeSettings] = reactive(DecodeSettings, init=False)
    view: reactive[ViewSettings] = reactive(ViewSettings, init=False)

    def __init__(self, engine: Engine | None = None, *, model_name: str | None = None,
                 settings: DecodeSettings | None = None, overrides: Mapping[str, Any] | None = None,
                 prompt: str = "", live: LiveSettings | None = None, remember: bool = True) -> None:
        super().__init__()
        self.remember = remember
        saved = prefs.load_settings() if remember else prefs.Saved(DecodeSettings(), ViewSettings())
        self._warnings = list(saved.warnings)
        start = settings if settings is not None else (live.get() if live is not None else saved.decode)
        self._saved_decode, self._overrides = saved.decode, dict(overrides or {})
        if overrides:
            try:
                start = start.replace(**overrides)
            except CharlmError as exc:  # the CLI validated them alone; together they may clash
                self._warnings.append(str(exc))
        self.live = live if live is not None else LiveSettings(start)
        self.live.set(start)
        self.history: list[str] = prefs.load_history() if remember else []
        self.model_name = model_name
        self.initial_prompt = prompt
        self.load_error = ""
        self.set_reactive(CharlmApp.settings, start)
        self.set_reactive(CharlmApp.view, saved.view)
        self.set_reactive(CharlmApp.engine, engine)
        self._save_failed = False

    # -- the Host interface ---------------------------------------------------------------
    @property
    def model_label(self) -> str:
        """The model's name as the header and settings panel show it."""
        if self.engine is None:
            return "no model" if self.load_error else "loading…"
        record = self.engine.record
        if record is None:
            return "toy"
        name = terminal_safe(record.name, single_line=True)  # a folder name can be anything
        return f"{name} (built-in)" if record.builtin else name

    def update_settings(self, settings: DecodeSettings) -> None:
        """Make ``settings`` live (a running completion uses them from its next character) and save them."""
        self.live.set(settings)
        self.settings = settings
        self._save()

    def update_view(self, view: ViewSettings) -> None:
        self.view = view
        self._save()

    def remember_prompt(self, prompt: str) -> None:
        """Add a submitted prompt to the history (not twice in a row)."""
        if not prompt or (self.history and self.history[-1] == prompt):
            return
        self.history.append(prompt)
        del self.history[: -prefs.HISTORY_MAX]
        if self.remember:
            try:
                prefs.save_history(self.history)
            except OSError as exc:
                self._save_error(exc)

    def _save(self) -> None:
        """Save the settings, but not the command line's options (they are for this launch only,
        unless changed in the app)."""
        if self.remember:
            kept = {k: getattr(self._saved_decode, k) for k, v in self._overrides.items()
                    if getattr(self.settings, k) == v}
            try:
                prefs.save_settings(self.settings.replace(**kept), self.view)
            except OSError as exc:
                self._save_error(exc)

    def _save_error(self, exc: OSError) -> None:
        if not self._save_failed:  # say it once, not on every keystroke
            self._save_failed = True
            self.notify(f"Settings will not be kept: {prefs.config_dir()}: {exc.strerror or exc}",
                        severity="warning", markup=False)

    # -- lifecycle ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without any model there is nothing to pick or describe."""
        if action in ("choose_model", "model_info") and isinstance(self.screen, NoModelScreen):
            return not self.screen.empty and action == "choose_model"
        return True

    def get_default_screen(self) -> Screen:
        return MainScreen(self.initial_prompt)

    def on_mount(self) -> None:
        if not self.is_headless:
            from charlm.tui.terminal import watch_terminal

            watch_terminal(self)
        for warning in self._warnings:
            self.notify(f"Saved settings: {warning}", severity="warning", markup=False)
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
            self.notify(f"Now using model {self.model_label}.", markup=False)

    def on_engine_failed(self, message: EngineFailed) -> None:
        error = terminal_safe(message.error, single_line=True)
        if self.engine is not None and not message.empty:
            self.notify(error, title="Could not load the model", severity="error", markup=False)
            return
        self.load_error = error
        if isinstance(self.screen, NoModelScreen):
            self.screen.show_error(error, message.empty)
        else:
            self.push_screen(NoModelScreen(error, message.empty))

    @on(RetryLoad)
    def _retry(self) -> None:
        self.load_model(self.model_name)

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
        self.update_settings(self.live.get().replace(mode=mode))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Command palette (ctrl+p): the screen's actions, then models, help and themes."""
        for source in (screen, *reversed(self.screen_stack)):
            if isinstance(source, CommandSource):
                for command in source.commands():
                    yield SystemCommand(command.title, command.help, command.run)
                break
        yield SystemCommand("Choose model", "Switch to another stored model (F8)", self.action_choose_model)
        yield SystemCommand("Model info", "Config, corpus and training history (F9)", self.action_model_info)
        yield SystemCommand("Keys and help", "What every key does (F1)", self.action_help)
        yield from super().get_system_commands(screen)
