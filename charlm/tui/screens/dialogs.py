"""Small dialogs: type a value (seed, stop string, file name) and search the prompt history.

Each shows its own keys in its own footer, and Esc closes it without a change.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from charlm.data.sanitize import terminal_safe


class TextDialog(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with it (checked by ``check``), or None on Esc.

    Args:
        title: the dialog's title.
        explanation: one or two lines under it (plain text).
        value: the initial text.
        check: returns an error message for a bad value, or None.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "accept", "OK", show=True)]

    def __init__(self, title: str, explanation: str, value: str = "",
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text, self.explanation, self.value = title, explanation, value
        self.check = check or (lambda _: None)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Label(Text(self.explanation), classes="hint")
            yield Input(self.value, id="value")
            yield Label("", id="error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def action_accept(self) -> None:
        value = self.query_one(Input).value
        error = self.check(value)
        if error:
            self.query_one("#error", Label).update(Text(terminal_safe(error, single_line=True)))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistorySearch(ModalScreen[str | None]):
    """Find an earlier prompt by any part of it; newest first. Dismisses with it, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "pick", "Use it"),
                Binding("down", "move(1)", "Next", show=False),
                Binding("up", "move(-1)", "Previous", show=False)]

    def __init__(self, history: list[str]) -> None:
        super().__init__()
        self.history = list(reversed(history))
        self.matches: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "search the prompt history"
            yield Input(placeholder="type part of a prompt", id="query")
            yield OptionList(id="matches")
            yield Label("", classes="hint", id="count")
        yield Footer()

    def on_mount(self) -> None:
        self._filter("")
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, query: str) -> None:
        needle = query.casefold()
        self.matches = [p for p in self.history if needle in p.casefold()][:200]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(Text(terminal_safe(p, single_line=True)), id=str(i))
                             for i, p in enumerate(self.matches)])
        if self.matches:
            options.highlighted = 0
        total = len(self.history)
        self.query_one("#count", Label).update(
            "no prompts yet" if not total else f"{len(self.matches)} of {total} prompts")

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if self.matches:
            at = (options.highlighted or 0) + delta
            options.highlighted = max(0, min(len(self.matches) - 1, at))

    @on(Input.Submitted)
    def action_pick(self) -> None:
        at = self.query_one(OptionList).highlighted
        self.dismiss(self.matches[at] if self.matches and at is not None else None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.matches[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
