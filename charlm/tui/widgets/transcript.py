"""The transcript: every entry of the session, newest at the bottom, one of them selected.

Entries (:mod:`~charlm.tui.widgets.entry`) appear when their first streamed
characters arrive. The scroll container stays anchored to the bottom until
the user scrolls up; ↑↓ (with the transcript focused) or a click select the
entry that copying and "next result" act on.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from charlm.tui.widgets.entry import Entry

__all__ = ["Entry", "Transcript"]


class Transcript(VerticalScroll):
    """All entries of this session, newest at the bottom; one of them is selected."""

    DEFAULT_CSS = """
    Transcript {
        border: round $primary 50%;
        border-title-color: $text-primary;
        height: 1fr;
    }
    Transcript:focus { border: round $accent; }
    Transcript > .hint { color: $text-muted; padding: 0 1; }
    """

    BINDINGS = [
        Binding("up", "select(-1)", "Previous entry", show=False),
        Binding("down", "select(1)", "Next entry", show=False),
    ]

    HINT = ("Type a prompt below and press Enter: the model's continuation streams in here, "
            "after your text.")

    def __init__(self, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.border_title = "transcript"
        self.confidence = False
        self._entries: list[Entry] = []
        self._selected: int | None = None  # None: the last entry

    def compose(self):
        yield Static(self.HINT, classes="hint")

    def on_mount(self) -> None:
        self.anchor()

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries)

    @property
    def last(self) -> Entry | None:
        return self._entries[-1] if self._entries else None

    @property
    def selected(self) -> Entry | None:
        """The entry copy and "next result" act on: the one chosen with ↑↓ or a click, else the last."""
        if self._selected is not None and self._selected < len(self._entries):
            return self._entries[self._selected]
        return self.last

    def select(self, entry: Entry | None) -> None:
        self._selected = None if entry is None else self._entries.index(entry)
        for e in self._entries:
            e.set_class(e is entry, "-selected")
        if entry is not None and entry.is_mounted:
            self.scroll_to_widget(entry, animate=False)

    def action_select(self, delta: int) -> None:
        if not self._entries:
            return
        current = self._entries.index(self.selected) if self.selected is not None else 0
        self.select(self._entries[max(0, min(len(self._entries) - 1, current + delta))])

    def new_entry(self, prompt: str) -> Entry:
        """An entry for ``prompt``, last in the transcript but not shown until :meth:`show`."""
        entry = Entry(prompt, self.confidence)
        self._entries.append(entry)
        if self._selected is not None:
            self.select(None)
        return entry

    def show(self, entry: Entry) -> None:
        """Mount ``entry`` at the bottom (once) and keep it in view.

        Separate from :meth:`new_entry` so the layout this costs can wait for
        the first streamed characters instead of competing with the model
        for the CPU while it reads the prompt.
        """
        if entry.is_mounted or entry.parent is not None or entry not in self._entries:
            return
        for hint in self.query_children(".hint"):
            hint.remove()
        self.mount(entry)
        self.anchor()

    def clear(self) -> None:
        self._entries.clear()
        self._selected = None
        self.remove_children()
        self.mount(Static(self.HINT, classes="hint"))

    def set_confidence(self, on: bool) -> None:
        self.confidence = on
        for entry in self._entries:
            entry.set_confidence(on)

    def on_click(self, event) -> None:
        widget = event.widget
        while widget is not None and not isinstance(widget, Entry):
            widget = widget.parent
        if isinstance(widget, Entry):
            self.select(widget)

    @property
    def text(self) -> str:
        """Plain text of every entry (tests read it)."""
        return "\n\n".join(e.context for e in self._entries)
