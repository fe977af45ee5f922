"""Shown instead of the workbench when there is no model to load at all."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, Static

from charlm.tui.messages import RetryLoad

GET_ONE = (
    "Train one on your own text (subtitles, plain text, …):\n\n"
    "  [b $text-accent]charlm-train fit CORPUS[/]\n\n"
    "or on the bundled sample corpus:\n\n"
    "  [b $text-accent]charlm-train fit --sample rioplatense[/]\n\n"
    "then press [b]r[/] here to load it (or start charlm again)."
)


class NoModelScreen(Screen[None]):
    """A clear way forward instead of a crash when the store is empty."""

    BINDINGS = [
        Binding("r", "retry", "Retry"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, error: str = "", empty: bool = True) -> None:
        super().__init__()
        self.error, self.empty = error, empty

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(self._message(), id="no-model")
        yield Footer()

    def _message(self) -> str:
        """Content markup (theme colours); the error text is escaped."""
        title = "No model yet" if self.empty else "The model could not be loaded"
        error = "" if self.empty or not self.error else f"[$text-error]{escape(self.error)}[/]\n\n"
        return f"[b]{title}[/b]\n\n{error}{GET_ONE}"

    def show_error(self, error: str, empty: bool) -> None:
        self.error, self.empty = error, empty
        self.query_one("#no-model", Static).update(self._message())

    def action_retry(self) -> None:
        self.post_message(RetryLoad())
