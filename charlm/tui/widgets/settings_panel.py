"""The settings panel: every decoding and view setting as a row you step with keys or the mouse.

Each row is ``name ◀ value ▶``. The arrows are clickable; with the panel
focused, ↑↓ choose a row, ←→ step it and Enter types a value (seed, stop
string) or opens the model picker. Printable keys are not the panel's: they
go to the prompt (see the main screen). The panel never changes settings
itself: it posts :class:`AdjustSetting` / :class:`EditSetting` and the screen
asks the app, whose settings the panel then shows with :meth:`SettingsPanel.show`.

Which rows are live for the current mode comes from the modes table
(:mod:`charlm.engine.modes`); how a number steps comes from its Spec's ladder
(:mod:`charlm.engine.settings`, :mod:`charlm.tui.prefs`): no range is written here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Static

from charlm.data.sanitize import terminal_safe
from charlm.engine.modes import mode as mode_of
from charlm.engine.settings import MODE_LABELS, DecodeSettings, show_escapes
from charlm.spec import spec_of
from charlm.store import ModelRecord
from charlm.tui.messages import AdjustSetting, ChooseModel, EditSetting, FocusPrompt
from charlm.tui.prefs import ViewSettings

#: Rows whose value is typed (Enter) rather than only stepped.
TYPED = ("seed", "stop")


def step_setting(s: DecodeSettings, key: str, direction: int) -> DecodeSettings:
    """``s`` with setting ``key`` moved one step: mode cycles, numbers follow their ladder.

    The seed steps "random" ↔ 0, 1, 2...; the stop string is not stepped.
    """
    if key == "seed":
        if s.seed is None:
            return s.replace(seed=0) if direction > 0 else s
        return s.replace(seed=None if s.seed + direction < 0 else s.seed + direction)
    if key == "stop":
        return s
    return s.replace(**{key: spec_of(DecodeSettings, key).step(getattr(s, key), direction)})


def step_view(v: ViewSettings, key: str, direction: int) -> ViewSettings:
    """``v`` with view setting ``key`` moved one step (a toggle flips; "suggest" steps
    off ↔ the suggestion length)."""
    from dataclasses import replace

    if key == "confidence":
        return replace(v, confidence=not v.confidence)
    if key == "suggest":  # one row: off, then ever longer suggestions
        if not v.suggest:
            return replace(v, suggest=True) if direction > 0 else v
        length = spec_of(ViewSettings, "suggest_length").step(v.suggest_length, direction)
        if direction < 0 and length == v.suggest_length:
            return replace(v, suggest=False)
        return replace(v, suggest_length=length)
    return replace(v, **{key: spec_of(ViewSettings, key).step(getattr(v, key), direction)})


def _off(value: float, text: str) -> str:
    return "off" if not value else text


@dataclass(frozen=True)
class Row:
    """One setting: its key (a DecodeSettings or ViewSettings field) and the label shown."""

    key: str
    label: str
    view: bool = False  # a ViewSettings field (always live)

    def value(self, s: DecodeSettings, v: ViewSettings) -> str:
        k = self.key
        if k == "mode":
            return MODE_LABELS[s.mode]
        if k == "temperature":
            return f"{s.temperature:.2f}"
        if k == "top_k":
            return _off(s.top_k, str(s.top_k))
        if k == "top_p":
            return "off" if s.top_p >= 1.0 else f"{s.top_p:.3g}"
        if k == "no_repeat_ngram":
            return _off(s.no_repeat_ngram, str(s.no_repeat_ngram))
        if k == "length_penalty":
            return _off(s.length_penalty, f"{s.length_penalty:g}")
        if k == "stop":
            return " · ".join(show_escapes(x) for x in s.stop) or "none"
        if k == "seed":
            return "random" if s.seed is None else str(s.seed)
        if k == "pace":
            return "max" if v.pace == 0 else f"{v.pace}/s"
        if k == "confidence":
            return "on" if v.confidence else "off"
        if k == "suggest":
            return f"{v.suggest_length} ch" if v.suggest else "off"
        return str(getattr(s, k))

    def live(self, s: DecodeSettings) -> bool:
        """Whether the current mode reads this setting (dimmed when not)."""
        return self.view or mode_of(s.mode).uses(self.key) or self.key == "mode"


ROWS = (
    Row("mode", "mode"),
    Row("temperature", "temp"),
    Row("beam_width", "beams"),
    Row("num", "results"),
    Row("length", "length"),
    Row("top_k", "top-k"),
    Row("top_p", "top-p"),
    Row("no_repeat_ngram", "no-rep"),
    Row("length_penalty", "penalty"),
    Row("stop", "stop"),
    Row("seed", "seed"),
    Row("pace", "pace", view=True),
    Row("confidence", "colour", view=True),
    Row("suggest", "suggest", view=True),
)
VIEW_KEYS = tuple(r.key for r in ROWS if r.view)
KEYS = ("model", *(r.key for r in ROWS))


def model_details(record: ModelRecord | None) -> str:
    """One short line: architecture, size and validation perplexity."""
    if record is None:
        return "toy model"
    ppl = "?" if not math.isfinite(record.val_perplexity) else f"{record.val_perplexity:.2f}"
    return f"{record.label} · ppl {ppl}"


class Arrow(Static):
    """A clickable ◀ or ▶ that steps its row's setting."""

    def __init__(self, key: str, direction: int) -> None:
        super().__init__("◀" if direction < 0 else "▶", classes="dec" if direction < 0 else "inc")
        self.key, self.direction = key, direction

    def on_click(self, event: events.Click) -> None:
        event.stop()
        if self.key == "model":
            self.post_message(ChooseModel())
        elif self.key == "stop":
            self.post_message(EditSetting(self.key))
        else:
            self.post_message(AdjustSetting(self.key, self.direction))


class SettingRow(Horizontal):
    """``label ◀ value ▶``; clicking the row selects it in the panel."""

    def __init__(self, key: str, label: str) -> None:
        super().__init__(id=f"set-{key}", classes="setting-row")
        self.key, self.label = key, label

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="name")
        yield Arrow(self.key, -1)
        yield Label("", classes="value")
        yield Arrow(self.key, +1)

    def set_value(self, value: str) -> None:
        # Text, not markup: a model name or a stop string is shown as it is (escaped).
        self.query_one(".value", Label).update(Text(terminal_safe(value, single_line=True)))

    def on_click(self, event: events.Click) -> None:
        panel = self.query_ancestor(SettingsPanel)
        panel.selected = KEYS.index(self.key)
        if self.key == "model":
            self.post_message(ChooseModel())
        elif self.key in TYPED and event.chain > 1:
            self.post_message(EditSetting(self.key))


class SettingsPanel(Widget, can_focus=True):
    """Model choice, decoding settings, pace and the confidence-colour toggle."""

    DEFAULT_CSS = """
    SettingsPanel {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text-primary;
        border-subtitle-color: $text-muted;
        padding: 0 1;
    }
    SettingsPanel:focus { border: heavy $accent; border-title-color: $text-accent; }
    SettingsPanel .setting-row { height: 1; }
    SettingsPanel .name { width: 8; color: $text-muted; }
    SettingsPanel Arrow { width: 1; color: $text-accent; }
    SettingsPanel Arrow:hover { background: $accent 40%; }
    SettingsPanel .value { width: 1fr; text-align: center; }
    SettingsPanel .-inactive .value { color: $text-disabled; }
    SettingsPanel #model-details { color: $text-muted; width: 1fr; text-align: right; }
    SettingsPanel:focus .-selected { background: $accent 40%; }
    SettingsPanel:focus .-selected .name { color: $text; }
    """

    BINDINGS = [
        Binding("up", "move(-1)", "Previous", group=Binding.Group("Row", compact=True)),
        Binding("down", "move(1)", "Next", group=Binding.Group("Row", compact=True)),
        Binding("left", "step(-1)", "Less", group=Binding.Group("Set", compact=True)),
        Binding("right", "step(1)", "More", group=Binding.Group("Set", compact=True)),
        Binding("enter", "activate", "Edit"),
        Binding("tab", "screen.focus_prompt", "Prompt"),
    ]

    selected: reactive[int] = reactive(1)

    def __init__(self, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.border_title = "settings"

    def compose(self) -> ComposeResult:
        yield SettingRow("model", "model")
        yield Label("", id="model-details")
        for row in ROWS:
            yield SettingRow(row.key, row.label)

    def on_focus(self) -> None:
        self.border_subtitle = "↑↓ ←→ ⏎ · tab: prompt"

    def on_blur(self) -> None:
        self.border_subtitle = ""

    def show(self, settings: DecodeSettings, view: ViewSettings, model_name: str,
             record: ModelRecord | None) -> None:
        """Display current values; rows the current mode ignores are dimmed."""
        self.query_one("#set-model", SettingRow).set_value(model_name)
        self.query_one("#model-details", Label).update(Text(model_details(record)))
        for row in ROWS:
            widget = self.query_one(f"#set-{row.key}", SettingRow)
            widget.set_value(row.value(settings, view))
            widget.set_class(not row.live(settings), "-inactive")

    def value_of(self, key: str) -> str:
        """The text a row shows (tests read it)."""
        return str(self.query_one(f"#set-{key} .value", Label).content)

    def watch_selected(self, selected: int) -> None:
        for i, row in enumerate(self.query(SettingRow)):
            row.set_class(i == selected, "-selected")

    def on_mount(self) -> None:
        self.watch_selected(self.selected)

    def action_move(self, delta: int) -> None:
        self.selected = (self.selected + delta) % len(KEYS)

    def action_step(self, direction: int) -> None:
        key = KEYS[self.selected]
        if key == "model":
            self.post_message(ChooseModel())
        elif key == "stop":
            self.post_message(EditSetting(key))
        else:
            self.post_message(AdjustSetting(key, direction))

    def action_activate(self) -> None:
        """Enter: type the seed or stop string, pick a model; on other rows, back to the prompt."""
        key = KEYS[self.selected]
        if key == "model":
            self.post_message(ChooseModel())
        elif key in TYPED:
            self.post_message(EditSetting(key))
        else:
            self.post_message(FocusPrompt())
