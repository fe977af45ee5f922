"""The settings panel: every decoding setting as a row you step with keys or the mouse.

Each row is ``name ◀ value ▶``. The arrows are clickable; with the panel
focused, up/down choose a row and left/right (or -/+) step it. The panel never
changes settings itself: it posts :class:`AdjustSetting` and the screen
applies the change to the app's ``LiveSettings`` (so a running completion
picks it up from its next character) and calls :meth:`SettingsPanel.show`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Static

from charlm.engine.settings import MODE_LABELS, MODES, DecodeSettings
from charlm.store import ModelRecord
from charlm.trainer.config import ARCH_NAMES
from charlm.tui.messages import AdjustSetting, ChooseModel

TEMPERATURES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 1.7,
                2.0, 2.5, 3.0)
BEAM_WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)
LENGTHS = (10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10_000)
TOP_KS = (0, 1, 2, 3, 5, 10, 20, 40, 80)
TOP_PS = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0)


def neighbour(values: Sequence[float], current: float, direction: int) -> float:
    """The next value of a ladder above (direction > 0) or below ``current``.

    ``current`` need not be on the ladder (a CLI value such as 0.75 steps to
    0.8 or 0.7); past either end of the ladder it stays where it is.
    """
    eps = 1e-9
    if direction > 0:
        return next((v for v in values if v > current + eps), current)
    return next((v for v in reversed(values) if v < current - eps), current)


def step_setting(s: DecodeSettings, key: str, direction: int) -> DecodeSettings:
    """``s`` with setting ``key`` moved one step; mode cycles, numbers follow a ladder."""
    if key == "mode":
        return s.replace(mode=MODES[(MODES.index(s.mode) + direction) % len(MODES)])
    if key == "temperature":
        return s.replace(temperature=neighbour(TEMPERATURES, s.temperature, direction))
    if key == "beam_width":
        return s.replace(beam_width=int(neighbour(BEAM_WIDTHS, s.beam_width, direction)))
    if key == "length":
        return s.replace(length=int(neighbour(LENGTHS, s.length, direction)))
    if key == "top_k":
        return s.replace(top_k=int(neighbour(TOP_KS, s.top_k, direction)))
    if key == "top_p":
        return s.replace(top_p=neighbour(TOP_PS, s.top_p, direction))
    if key == "seed":
        if s.seed is None:
            return s.replace(seed=0) if direction > 0 else s
        return s.replace(seed=None if s.seed + direction < 0 else s.seed + direction)
    raise KeyError(key)


@dataclass(frozen=True)
class Row:
    """One stepped setting: its key, the label shown, and when it matters."""

    key: str
    label: str
    modes: tuple[str, ...] = MODES

    def value(self, s: DecodeSettings) -> str:
        if self.key == "mode":
            return MODE_LABELS[s.mode]
        if self.key == "temperature":
            return f"{s.temperature:.2f}"
        if self.key == "top_k":
            return "off" if s.top_k == 0 else str(s.top_k)
        if self.key == "top_p":
            return "off" if s.top_p >= 1.0 else f"{s.top_p:.2f}"
        if self.key == "seed":
            return "random" if s.seed is None else str(s.seed)
        return str(getattr(s, self.key))


#: What each mode reads (stream.py): greedy ignores temperature; beam ranks raw
#: probabilities; only plain sampling filters with top-k / top-p.
ROWS = (
    Row("mode", "mode"),
    Row("temperature", "temp", ("sample", "sampled-beam")),
    Row("beam_width", "beams", ("beam", "sampled-beam")),
    Row("length", "length"),
    Row("top_k", "top-k", ("sample",)),
    Row("top_p", "top-p", ("sample",)),
    Row("seed", "seed", ("sample", "sampled-beam")),
)
#: Not a decoding setting: how generated text is coloured.
CONFIDENCE = "confidence"
KEYS = ("model", *(r.key for r in ROWS), CONFIDENCE)


def model_details(record: ModelRecord | None) -> str:
    """One short line: architecture, size and validation perplexity."""
    if record is None:
        return "toy model"
    c = record.config
    ppl = "?" if not math.isfinite(record.val_perplexity) else f"{record.val_perplexity:.2f}"
    return f"{ARCH_NAMES.get(c.arch, c.arch)} {c.layers}×{c.units} · ppl {ppl}"


class Arrow(Static):
    """A clickable ◀ or ▶ that steps its row's setting."""

    def __init__(self, key: str, direction: int) -> None:
        super().__init__("◀" if direction < 0 else "▶", classes="dec" if direction < 0 else "inc")
        self.key, self.direction = key, direction

    def on_click(self, event: events.Click) -> None:
        event.stop()
        if self.key == "model":
            self.post_message(ChooseModel())
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
        self.query_one(".value", Label).update(value)

    def on_click(self, event: events.Click) -> None:
        panel = self.query_ancestor(SettingsPanel)
        panel.selected = KEYS.index(self.key)
        if self.key == "model":
            self.post_message(ChooseModel())


class SettingsPanel(Widget, can_focus=True):
    """Model choice, decoding settings and the confidence-colour toggle."""

    DEFAULT_CSS = """
    SettingsPanel {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    SettingsPanel:focus { border: round $primary; }
    SettingsPanel .setting-row { height: 1; }
    SettingsPanel .name { width: 7; color: $text-muted; }
    SettingsPanel Arrow { width: 1; color: $text-accent; }
    SettingsPanel Arrow:hover { background: $accent 40%; }
    SettingsPanel .value { width: 1fr; text-align: center; }
    SettingsPanel .-inactive .value { color: $text-disabled; }
    SettingsPanel #model-details { color: $text-muted; width: 1fr; text-align: right; }
    SettingsPanel:focus .-selected { background: $accent 30%; }
    """

    BINDINGS = [
        Binding("up,k", "move(-1)", "Previous", group=Binding.Group("Row", compact=True)),
        Binding("down,j", "move(1)", "Next", group=Binding.Group("Row", compact=True)),
        Binding("left,minus", "step(-1)", "Less", group=Binding.Group("Set", compact=True)),
        Binding("right,plus,equals_sign", "step(1)", "More",
                group=Binding.Group("Set", compact=True)),
        Binding("enter,space", "activate", "Choose model", show=False),
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
        yield SettingRow(CONFIDENCE, "colour")

    def show(self, settings: DecodeSettings, model_name: str, record: ModelRecord | None,
             confidence: bool) -> None:
        """Display current values; rows the current mode ignores are dimmed."""
        self.query_one("#set-model", SettingRow).set_value(model_name)
        self.query_one("#model-details", Label).update(model_details(record))
        for row in ROWS:
            widget = self.query_one(f"#set-{row.key}", SettingRow)
            widget.set_value(row.value(settings))
            widget.set_class(settings.mode not in row.modes, "-inactive")
        self.query_one(f"#set-{CONFIDENCE}", SettingRow).set_value("on" if confidence else "off")

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
        else:
            self.post_message(AdjustSetting(key, direction))

    def action_activate(self) -> None:
        self.action_step(1)
