"""The main screen: prompt, streaming transcript, live settings and next-character bars.

The screen talks to the app only through :class:`~charlm.tui.host.Host`: it
watches the app's ``engine``, ``settings`` and ``view`` and asks it to change
settings; completions are in :mod:`charlm.tui.screens.streaming`. Printable
keys typed anywhere but the prompt go to the prompt. The prompt's suggestions
come from the same prefix cache as the next-character panel
(:mod:`charlm.tui.suggester`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input
from textual.worker import get_current_worker

from charlm import spec
from charlm.engine.engine import Engine
from charlm.engine.modes import TABLE
from charlm.engine.prefix import Analysis, PrefixCache
from charlm.engine.settings import DecodeSettings, parse_escapes, show_escapes
from charlm.engine.suggest import depends_on
from charlm.errors import ConfigError
from charlm.tui.host import Command
from charlm.tui.messages import AdjustSetting, AnalysisReady, ChooseModel, EditSetting, FocusPrompt, PickChar
from charlm.tui.prefs import ViewSettings
from charlm.tui.screens.dialogs import HistorySearch, TextDialog
from charlm.tui.screens.streaming import StreamingScreen
from charlm.tui.suggester import ModelSuggester
from charlm.tui.widgets.next_chars import NextChars
from charlm.tui.widgets.prompt import PromptEditor, PromptStats
from charlm.tui.widgets.settings_panel import VIEW_KEYS, SettingsPanel, step_setting, step_view
from charlm.tui.widgets.transcript import Transcript

#: How many characters the next-character panel asks for (it shows as many as fit).
TOP_CHARS = 30
#: An edit whose model steps should take at most this long is analysed on the UI
#: thread (a keystroke is one step, ~0.2 ms for the default model); bigger ones
#: (pastes, continuations, a new model, a huge model) go to a worker.
INLINE_BUDGET = 0.004
TEMP = Binding.Group("Temp", compact=True)


class MainScreen(StreamingScreen):
    """Everything a user does with a loaded model."""

    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        # Ctrl+T twice: in the footer only below 80 columns, where the panel is hidden.
        Binding("ctrl+t", "show_settings_panel", "Settings"),
        Binding("ctrl+t", "toggle_settings", "Settings", show=False),
        Binding("f2", "adjust('mode', 1)", "Mode"),
        Binding("f3", "adjust('temperature', -1)", "Temp −", group=TEMP),
        Binding("f4", "adjust('temperature', 1)", "Temp +", group=TEMP),
        # Shown in the transcript's subtitle instead: a footer that changed with the
        # generation state would be rebuilt just when the first character is due.
        Binding("f5", "continue", "Continue", show=False),
        # Priority: the prompt's TextArea binds F6/F7 to line/all selection.
        Binding("f6", "copy", "Copy", show=False, priority=True),
        Binding("f7", "adjust('confidence', 1)", "Colour", show=False, priority=True),
        Binding("ctrl+l", "clear", "Clear", show=False),
        Binding("ctrl+r", "reroll", "Re-roll", show=False),
        Binding("ctrl+n", "next_result", "Next result", show=False),
        Binding("ctrl+s", "save", "Save", show=False),
        Binding("ctrl+f", "search_history", "History", show=False),
        Binding("ctrl+u", "clear_prompt", "Clear prompt", show=False),
        Binding("ctrl+g", "toggle_suggestions", "Suggestions", show=False),
    ]

    def __init__(self, prompt: str = "") -> None:
        super().__init__()
        self._initial_prompt = prompt
        self._cache: PrefixCache | None = None
        self._suggests: tuple = ()  # what suggestions depend on (settings, length)

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        host = self.host  # the suggester runs in a worker thread: no app look-up there
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="main-column"):
                yield Transcript(id="transcript")
                yield PromptEditor(self._initial_prompt, id="prompt",
                                   on_change=lambda _: self._analyze_prompt(),
                                   history=lambda: self.host.history,
                                   suggester=ModelSuggester(lambda: self._cache, host.live.get,
                                                            lambda: host.view.suggest_length))
                yield PromptStats(id="stats")
            with Vertical(id="side"):
                yield SettingsPanel(id="settings")
                yield NextChars(id="next-chars")
        yield Footer()

    def on_mount(self) -> None:
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.focus()
        self.watch(self.app, "view", self._view_changed, init=True)
        self.watch(self.app, "settings", self._settings_changed, init=False)
        self.watch(self.app, "engine", self._engine_changed, init=True)

    def on_unmount(self) -> None:
        self._stop_streams_on_unmount()

    def _engine_changed(self, engine: Engine | None) -> None:
        self.action_stop()
        self._cache = PrefixCache(engine) if engine is not None else None
        self.sub_title = self.host.model_label
        self.prompt.allow_newline(engine is None or "\n" in engine.vocab)
        self.show_settings()
        self._analyze_prompt()
        self.prompt.refresh_suggestion()

    def _view_changed(self, view: ViewSettings) -> None:
        self._pace = view.pace
        self.transcript.set_confidence(view.confidence)
        self.prompt.set_suggestions(view.suggest)
        self.show_settings()
        self._suggestions_depend()

    def _settings_changed(self, settings: DecodeSettings) -> None:
        self.show_settings()
        self._suggestions_depend()

    def _suggestions_depend(self) -> None:
        """Suggest again when what suggestions depend on changed (not on every setting)."""
        depends = (depends_on(self.host.settings), self.host.view.suggest_length)
        if depends != self._suggests:
            self._suggests = depends
            self.prompt.refresh_suggestion()

    def show_settings(self) -> None:
        engine = self.host.engine
        self.query_one(SettingsPanel).show(self.host.settings, self.host.view, self.host.model_label,
                                           engine.record if engine is not None else None)

    # -- keys go where the user expects ---------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        """A printable key that no other widget took goes to the prompt."""
        if not event.is_printable or not event.character or isinstance(self.focused, Input):
            return
        if self.focused is self.prompt:
            return
        event.stop()
        self.prompt.focus()
        self.prompt.insert(event.character)

    @on(FocusPrompt)
    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_settings_panel":
            return self.has_class("-narrow")
        return True

    def on_resize(self) -> None:
        self.refresh_bindings()  # the footer's Ctrl+T follows the width

    def action_show_settings_panel(self) -> None:
        self.action_toggle_settings()

    def action_toggle_settings(self) -> None:
        """Below 80 columns, show or hide the settings panel; otherwise move focus to it and back."""
        panel = self.query_one(SettingsPanel)
        if self.has_class("-narrow"):
            self.toggle_class("-side-open")
            if self.has_class("-side-open"):
                panel.focus()
            else:
                self.prompt.focus()
        elif panel.has_focus:
            self.prompt.focus()
        else:
            panel.focus()

    def action_clear_prompt(self) -> None:
        self.prompt.action_clear_prompt()
        self.prompt.focus()

    def action_toggle_suggestions(self) -> None:
        """Suggestions as you type on or off (kept between launches)."""
        view = self.host.view
        self.host.update_view(replace(view, suggest=not view.suggest))
        self.notify("Suggestions on: → takes a character, Tab a word, End all of it."
                    if not view.suggest else "Suggestions off (Ctrl+G turns them on).")

    # -- settings -------------------------------------------------------------------------
    def action_adjust(self, key: str, direction: int) -> None:
        """Step one setting; a running completion uses it from its next character."""
        if key in VIEW_KEYS:
            self.host.update_view(step_view(self.host.view, key, direction))
        else:
            try:
                changed = step_setting(self.host.live.get(), key, direction)
            except ConfigError as exc:  # e.g. a seed already at its maximum
                self.notify(str(exc), severity="warning", markup=False)
                return
            # Only the UI thread writes, so read-modify-write cannot lose a change.
            self.host.update_settings(changed)
        gen = self._gens.get(self._number)
        if gen is not None and not gen.discarded:
            self._show_streaming(gen)

    @on(AdjustSetting)
    def _adjust_message(self, message: AdjustSetting) -> None:
        self.action_adjust(message.key, message.direction)

    @on(EditSetting)
    def _edit_message(self, message: EditSetting) -> None:
        {"seed": self.action_edit_seed, "stop": self.action_edit_stop}[message.key]()

    def action_edit_seed(self) -> None:
        seed_spec = spec.spec_of(DecodeSettings, "seed")

        def check(text: str) -> str | None:
            text = text.strip()
            if not text:
                return None
            if not text.isdigit():
                return f"a whole number {seed_spec.describe()}, or empty for a random seed"
            return None if seed_spec.contains(int(text)) else f"the seed must be {seed_spec.describe()}"

        def done(text: str | None) -> None:
            if text is not None:
                self.host.update_settings(self.host.live.get().replace(seed=int(text) if text.strip() else None))

        seed = self.host.live.get().seed
        self.app.push_screen(TextDialog(
            "seed", f"A whole number {seed_spec.describe()}: the same seed gives the same text. "
            "Empty: a new random seed each time.", "" if seed is None else str(seed), check), done)

    def action_edit_stop(self) -> None:
        def parse(text: str) -> tuple[str, ...]:
            return tuple(parse_escapes(part) for part in text.split("|") if part)

        def check(text: str) -> str | None:
            try:
                parse(text)
            except ConfigError as exc:
                return str(exc)
            return None

        def done(text: str | None) -> None:
            if text is not None:
                self.host.update_settings(self.host.live.get().replace(stop=parse(text)))

        current = "|".join(show_escapes(s).replace("|", "\\x7c") for s in self.host.live.get().stop)
        self.app.push_screen(TextDialog(
            "stop strings", "Completions end just before any of these. Separate several with |. "
            "Escapes: \\n newline, \\t tab, \\\\ backslash, \\x7c |, \\xHH, \\uXXXX. Empty: none.",
            current, check), done)

    def action_set_mode(self, name: str) -> None:
        self.host.update_settings(self.host.live.get().replace(mode=name))

    @on(ChooseModel)
    def _choose_model(self) -> None:
        self.host.action_choose_model()

    @on(PickChar)
    def _pick_char(self, message: PickChar) -> None:
        self.prompt.insert(message.char)
        self.prompt.focus()

    # -- history and saving ---------------------------------------------------------------
    def action_search_history(self) -> None:
        def chosen(prompt: str | None) -> None:
            if prompt is not None:
                self.prompt.set_text(prompt)
            self.prompt.focus()

        self.app.push_screen(HistorySearch(self.host.history), chosen)

    def action_save(self) -> None:
        from charlm.tui import export

        entries = self.transcript.entries
        if not entries:
            self.notify("Nothing to save yet.")
            return

        def write(path: str | None) -> None:
            if not path or not path.strip():
                return
            records = [export.Record(e.prompt, e.generated, tuple(e.changes),
                                     tuple(e.alternatives) if len(e.results) > 1 else (), e.chosen, e.status)
                       for e in entries]
            try:
                written = export.save(path.strip(), records, self.host.model_label)
            except OSError as exc:
                self.notify(f"{path}: {exc.strerror or exc}", title="Could not save", severity="error",
                            markup=False)
                return
            self.notify(f"Saved {len(records)} entries to {written}", title="Transcript saved", markup=False)

        self.app.push_screen(TextDialog(
            "save the transcript", "File to write: .md gives Markdown, any other name plain text.",
            export.default_path()), write)

    def commands(self) -> Iterable[Command]:
        """Every action of this screen, for the command palette."""
        yield Command("Continue", "Generate more after the last completion (F5)", self.action_continue)
        yield Command("Re-roll", "Complete the last prompt again with the current settings (Ctrl+R)",
                      self.action_reroll)
        yield Command("Next result", "Make the next result the completion (Ctrl+N)", self.action_next_result)
        yield Command("Copy", "Copy the selected completion (F6)", self.action_copy)
        yield Command("Save transcript", "Write the transcript to a Markdown or text file (Ctrl+S)",
                      self.action_save)
        yield Command("Clear transcript", "Remove every entry (Ctrl+L)", self.action_clear)
        yield Command("Clear prompt", "Empty the prompt (Ctrl+U)", self.action_clear_prompt)
        yield Command("Search prompt history", "Find an earlier prompt (Ctrl+F)", self.action_search_history)
        yield Command("Stop", "Stop the running completion (Esc)", self.action_stop)
        yield Command("Settings panel", "Show or focus the settings (Ctrl+T)", self.action_toggle_settings)
        yield Command("Set seed…", "Type a seed, or none for random", self.action_edit_seed)
        yield Command("Set stop strings…", "Where completions end", self.action_edit_stop)
        for name in ("pace", "num", "length", "temperature", "beam_width"):
            label = {"num": "results", "beam_width": "beams"}.get(name, name)
            yield Command(f"Settings: more {label}", f"Step {label} up", lambda n=name: self.action_adjust(n, 1))
            yield Command(f"Settings: less {label}", f"Step {label} down",
                          lambda n=name: self.action_adjust(n, -1))
        yield Command("Colour by confidence", "Toggle confidence colours (F7)",
                      lambda: self.action_adjust("confidence", 1))
        yield Command("Suggestions on/off", "The model's continuation as you type (Ctrl+G)",
                      self.action_toggle_suggestions)
        for m in TABLE:
            yield Command(f"Mode: {m.label}", m.help, lambda name=m.name: self.action_set_mode(name))

    # -- live analysis of the prompt ------------------------------------------------------
    def _analyze_prompt(self) -> None:
        """Refresh the next-character bars and perplexity for the current prompt.

        Typing or deleting a character costs at most one model step with the
        prefix cache, so it is done right here: no thread hop between the
        keystroke and the bars, which then paint in the keystroke's frame
        (see ``PromptEditor``). Anything bigger runs in a worker.
        """
        cache = self._cache
        if cache is None:
            return
        text = self.prompt.text
        result = cache.try_analyze(text, TOP_CHARS, INLINE_BUDGET)
        if result is None:
            self._analyze(cache, text)
        else:
            self._show_analysis(text, result)

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _analyze(self, cache: PrefixCache, text: str) -> None:
        """The same off the UI thread, for changes of many characters (paste, new model)."""
        worker = get_current_worker()
        analysis = cache.analyze(text, TOP_CHARS)
        if not worker.is_cancelled:
            self.post_message(AnalysisReady(text, analysis.distribution, analysis.perplexity,
                                            analysis.unknown))

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.text == self.prompt.text:  # else a newer keystroke already answered
            self._show_analysis(message.text, Analysis(message.distribution, message.perplexity,
                                                       message.unknown))

    def _show_analysis(self, text: str, analysis: Analysis) -> None:
        self.query_one(NextChars).show(text, analysis.distribution)
        self.query_one(PromptStats).show(analysis.perplexity, len(text), analysis.unknown)
