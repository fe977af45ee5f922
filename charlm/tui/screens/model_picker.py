"""Pick a model from the store: name, what it writes, architecture and validation perplexity.

Broken model folders are listed too, greyed out with the reason, so a model
that disappeared from the list is never a mystery. With only the built-in
model, the picker says how to train another. Every name and reason is shown
as text (never markup) and escaped for the terminal.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from charlm import store
from charlm.data.sanitize import terminal_safe
from charlm.errors import CharlmError
from charlm.store import ModelRecord
from charlm.tui.screens.model_info import what_it_writes

TRAIN_HINT = ("Train another on your own text with `charlm-train fit CORPUS` "
              "(subtitles, a novel, a folder of text); it appears here.")


def _safe(text: str) -> str:
    return terminal_safe(text, single_line=True)


def describe(record: ModelRecord, current: str | None) -> Text:
    """One option: name, architecture, perplexity and markers, then what it writes."""
    ppl = f"{record.val_perplexity:.2f}" if math.isfinite(record.val_perplexity) else "?"
    out = Text()
    out.append("● " if record.name == current else "  ", style="bold")
    out.append(_safe(record.name), style="bold")
    out.append(f"  {_safe(record.label)}", style="cyan")
    out.append(f"  val ppl {ppl}")
    if record.builtin:
        out.append("  built-in", style="dim")
    if record.interrupted:
        out.append("  interrupted", style="yellow")
    out.append(f"\n    {what_it_writes(record)}", style="dim")
    return out


def describe_broken(name: str, error: str) -> Text:
    out = Text()
    out.append("  " + _safe(name), style="bold dim")
    out.append("  broken: ", style="red")
    out.append(_safe(error), style="dim")
    return out


class ModelPicker(ModalScreen[str | None]):
    """Dismisses with the chosen model's name, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "pick", "Load", show=True)]

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current
        self.records: list[ModelRecord] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "choose a model"
            yield OptionList(id="models")
            yield Label("", classes="hint", id="picker-hint")
        yield Footer()

    def on_mount(self) -> None:
        try:
            entries = store.scan()
        except CharlmError as exc:
            entries = []
            self.notify(str(exc), severity="error", markup=False)
        self.records = [e.record for e in entries if e.record is not None]
        options = self.query_one(OptionList)
        options.add_options([
            Option(describe(e.record, self.current), id=e.record.name) if e.record is not None
            else Option(describe_broken(e.name, e.error), id=f"broken:{e.name}", disabled=True)
            for e in entries
        ])
        if not self.records:
            hint = "The store is empty: train one with `charlm-train fit CORPUS`."
        elif all(r.builtin for r in self.records):
            hint = f"Only the built-in model so far. {TRAIN_HINT}"
        else:
            hint = "↑↓ choose, Enter to load, Esc to cancel."
        self.query_one("#picker-hint", Label).update(Text(hint))
        names = [o.id for o in options.options]
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if not option.disabled:
                self.dismiss(option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
