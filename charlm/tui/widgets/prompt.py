"""The prompt editor and the line under it that reports the prompt's perplexity.

The editor is a TextArea where Enter asks for a completion (prompts are
usually one line of dialogue). Ctrl+J, or Shift+Enter where the terminal
reports it, inserts a newline -- only for a model that knows newlines;
otherwise it would be read as an unknown symbol, so the editor says so
instead. Up on the first line and Down on the last walk the prompt history;
Ctrl+U clears the prompt (Ctrl+Z brings it back). While typing, the model's
continuation shows as ghost text (:mod:`charlm.tui.widgets.ghost`); Enter
completes what was typed and hides it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static, TextArea

from charlm.data.sanitize import terminal_safe
from charlm.tui.widgets.ghost import GhostTextArea, Suggester
from charlm.tui.widgets.next_chars import visible

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "newline")
#: How long an edit's frame waits for its suggestion (a few ms for the default model).
SUGGESTION_WAIT = 0.012


class PromptEditor(GhostTextArea):
    """A TextArea where Enter submits instead of inserting a newline, with ghost-text suggestions."""

    DEFAULT_CSS = """
    PromptEditor {
        height: 5;
        border: round $primary 50%;
        border-title-color: $text-primary;
        border-subtitle-color: $text-muted;
    }
    PromptEditor:focus { border: round $accent; }
    """

    BINDINGS = [
        # Handled in _on_key (TextArea consumes Enter before bindings); listed for the footer.
        Binding("enter", "submit", "Complete"),
        Binding("ctrl+u", "clear_prompt", "Clear prompt", show=False),
    ]

    @dataclass
    class Submitted(Message):
        """The user asked for a completion of ``text``."""

        editor: PromptEditor
        text: str

        @property
        def control(self) -> PromptEditor:
            return self.editor

    def __init__(self, text: str = "", id: str | None = None,  # noqa: A002
                 on_change: Callable[[str], None] | None = None,
                 history: Callable[[], list[str]] | None = None,
                 suggester: Suggester | None = None) -> None:
        """``on_change(text)`` runs on every edit, in this widget's own handler.

        Called there rather than where ``Changed`` bubbles to, the screen's
        reaction (the next-character bars) is ready before the edited text is
        painted, and both appear in the same frame instead of one frame apart.
        ``history()`` gives the earlier prompts, oldest first; ``suggester``
        gives the ghost text.
        """
        self._on_change = on_change
        self._history = history or (lambda: [])
        self._history_at: int | None = None  # index into the history while walking it
        self._draft = ""
        self.newline_ok = True
        super().__init__(text, id=id, suggester=suggester, soft_wrap=True, tab_behavior="focus",
                         show_line_numbers=False, compact=False, highlight_cursor_line=False,
                         placeholder="Type a prompt, then Enter")
        self.border_title = "prompt"
        self._subtitle()

    def allow_newline(self, ok: bool) -> None:
        """Whether the model knows newlines (Ctrl+J is offered only then)."""
        self.newline_ok = ok
        self._subtitle()

    def _subtitle(self) -> None:
        """The keys that matter now: those that take a suggestion while one is on its way."""
        if self.expecting:
            subtitle = "⇥ word · → char · end all · ⏎ complete"
        else:
            subtitle = "⏎ complete · ^j newline" if self.newline_ok else "⏎ complete"
        if subtitle != self.border_subtitle:
            self.border_subtitle = subtitle

    def ghost_changed(self) -> None:
        self._subtitle()

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
        elif event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            if not self.newline_ok:
                self.notify("This model never saw a line break, so it would read one as an "
                            "unknown symbol: write the prompt on one line.", markup=False)
                return
            start, end = self.selection
            self.replace("\n", start, end, maintain_selection_offset=False)
        elif event.key == "up" and self.cursor_location[0] == 0 and self._walk(-1):
            event.stop()
            event.prevent_default()
        elif (event.key == "down" and self.cursor_location[0] == self.document.line_count - 1
              and self._walk(1)):
            event.stop()
            event.prevent_default()

    def _walk(self, delta: int) -> bool:
        """Show the previous (-1) or next (+1) prompt of the history; False when there is none."""
        history = self._history()
        if not history or (self._history_at is None and delta > 0):
            return False
        if self._history_at is None:
            self._draft, at = self.text, len(history) - 1
        else:
            at = self._history_at + delta
        if at < 0:
            return True  # the oldest: stay
        if at >= len(history):
            self._history_at = None
            self.set_text(self._draft)
            return True
        self._history_at = at
        self.set_text(history[at])
        return True

    async def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self._on_change is None:
            return
        # Hold repaints while the widgets that react (next-character bars,
        # perplexity) report to the screen, so they join this edit's frame:
        # otherwise they wait one or two more frames (~30 ms at 60 fps).
        with self.app.batch_update():
            self._on_change(self.text)
            # The suggestion too, when the model is quick: the text, the bars and the
            # ghost text then change in one frame, and the ghost never blinks out.
            self.ask_suggestion()
            await self.await_suggestion(SUGGESTION_WAIT)
            for _ in range(3):
                await asyncio.sleep(0)

    def action_submit(self) -> None:
        self._history_at = None
        self.dismiss_suggestion()  # the completion is what to read now
        self.post_message(self.Submitted(self, self.text))

    def action_clear_prompt(self) -> None:
        """Empty the prompt (undoable with Ctrl+Z)."""
        self._history_at = None
        self.clear()

    def set_text(self, text: str) -> None:
        """Replace the prompt and put the cursor at its end."""
        self.load_text(text)
        self.move_cursor(self.document.end)


def describe_perplexity(ppl: float, chars: int, unknown: tuple[str, ...], wide: bool) -> Text:
    """The status line: perplexity of the prompt, in words a newcomer can read."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if chars == 0 or not math.isfinite(ppl):
        out.append("perplexity –", style="dim")
        out.append("  type to see how surprised the model is" if wide else "", style="dim")
    else:
        out.append("perplexity ", style="dim")
        out.append(f"{ppl:.2f}", style="bold")
        out.append("  how surprised the model is by what you typed" if wide else " (surprise)",
                   style="dim")
    if unknown:
        shown = " ".join(terminal_safe(visible(c), single_line=True) for c in unknown)
        out.append(f"  unknown: {shown}", style="bold red")
    return out


class PromptStats(Static):
    """One line: the prompt's perplexity under the model (and unknown characters)."""

    DEFAULT_CSS = """
    PromptStats { height: 1; padding: 0 1; }
    """

    def __init__(self, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.perplexity = math.nan
        self.chars = 0
        self.unknown: tuple[str, ...] = ()

    def show(self, perplexity: float, chars: int, unknown: tuple[str, ...]) -> None:
        self.perplexity, self.chars, self.unknown = perplexity, chars, unknown
        self.update(self._line(), layout=False)

    def on_resize(self) -> None:
        self.update(self._line(), layout=False)

    def _line(self) -> Text:
        """The long wording when it fits the line, else the short one."""
        line = describe_perplexity(self.perplexity, self.chars, self.unknown, wide=True)
        if line.cell_len > self.content_size.width:
            line = describe_perplexity(self.perplexity, self.chars, self.unknown, wide=False)
        return line

    def on_mount(self) -> None:
        self.update(self._line(), layout=False)
