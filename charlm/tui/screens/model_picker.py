"""Pick a model from the store: name, architecture, size and validation perplexity."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from charlm import store
from charlm.errors import CharlmError
from charlm.store import ModelRecord
from charlm.trainer.config import ARCH_NAMES


def describe(record: ModelRecord, current: str | None) -> Text:
    """One option line: name, architecture, perplexity, and markers."""
    c = record.config
    ppl = f"{record.val_perplexity:.2f}" if math.isfinite(record.val_perplexity) else "?"
    out = Text()
    out.append("● " if record.name == current else "  ", style="bold")
    out.append(record.name, style="bold")
    out.append(f"  {ARCH_NAMES.get(c.arch, c.arch)} {c.layers}×{c.units}", style="cyan")
    out.append(f"  val ppl {ppl}")
    if record.builtin:
        out.append("  built-in", style="dim")
    if record.interrupted:
        out.append("  interrupted", style="yellow")
    return out


class ModelPicker(ModalScreen[str | None]):
    """Dismisses with the chosen model's name, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current
        self.records: list[ModelRecord] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "choose a model"
            yield OptionList(id="models")
            yield Label("", classes="hint", id="picker-hint")

    def on_mount(self) -> None:
        try:
            self.records = store.list_models()
        except CharlmError as exc:
            self.records = []
            self.notify(str(exc), severity="error")
        options = self.query_one(OptionList)
        options.add_options([Option(describe(r, self.current), id=r.name) for r in self.records])
        hint = ("↑↓ choose, Enter to load, Esc to cancel" if self.records else
                "The store is empty: train one with `charlm-train fit CORPUS`.")
        self.query_one("#picker-hint", Label).update(hint)
        names = [r.name for r in self.records]
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
