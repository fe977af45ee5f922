"""Ghost text: a TextArea that shows a suggested continuation, dimmed, after the cursor.

After every edit the widget asks its :class:`Suggester` for a continuation,
in a thread worker that the next edit cancels. A result is shown only if the
text has not changed since it was asked for (an edit counter, not a text
compare), so a stale suggestion never shows. It shows only while the cursor
is at the end of the text with nothing selected, and only once the user has
typed: Esc (and, in the prompt, Enter) hides it until the next edit, and
text loaded by the program (history, a continuation) gets none.

While a suggestion shows, → takes one character of it, Tab or Ctrl+→ one
word, End (or Ctrl+E) all of it. Without one these keys do what they do in
any TextArea (Tab moves the focus). Typing the suggestion's next character
keeps the rest of it on screen, never a frame without it; any other edit
drops it until the new one arrives. A subclass that holds the edit's frame
(a batch update) can :meth:`~GhostTextArea.await_suggestion` for a few
milliseconds, so that the edit and its new suggestion are drawn together.

Drawing: the cursor's row shows the suggestion through TextArea's own
``suggestion`` (the cursor is drawn on its first character, as Textual does);
what does not fit on that row continues on the rows below the text, broken
at a character, since a suggestion is not part of the document and so is
not soft-wrapped with it. Only text that :func:`terminal_safe` leaves as it
is can be shown, so a suggestion is cut before anything it would escape:
what shows is exactly what a key inserts.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult, Selection
from textual.worker import get_current_worker

from charlm.data.sanitize import terminal_safe

Part = Literal["char", "word", "all"]


class Suggester(Protocol):
    """Where a :class:`GhostTextArea` gets its suggestions."""

    def suggest(self, text: str, cancelled: Callable[[], bool]) -> str | None:
        """What to show after ``text`` ("" for nothing), or None once ``cancelled()`` is True.

        Runs in a worker thread; ``cancelled`` turns True when the text changes again.
        """
        ...


def displayable(suggestion: str) -> str:
    """The part of ``suggestion`` that can be shown as it is: up to the first character
    :func:`terminal_safe` would escape (a control character, a line break)."""
    if terminal_safe(suggestion, single_line=True) == suggestion:
        return suggestion
    for i, char in enumerate(suggestion):
        if terminal_safe(char, single_line=True) != char:
            return suggestion[:i]
    return suggestion


def next_word(suggestion: str) -> str:
    """What Tab takes: blanks, then a word (all of it if it has no word)."""
    match = re.match(r"\s*\S+", suggestion)
    return match.group() if match else suggestion


def split_rows(text: str, first: int, width: int) -> tuple[str, tuple[str, ...]]:
    """``text`` laid out from a row with ``first`` free cells, then in rows of ``width`` cells.

    Returns the part on the first row and the rows after it.
    """
    rows: list[str] = []
    room, start, used = max(first, 0), 0, 0
    for i, char in enumerate(text):
        cells = cell_len(char)
        if used + cells > room:
            rows.append(text[start:i])
            room, start, used = max(width, cells), i, 0
        used += cells
    rows.append(text[start:])
    return rows[0], tuple(rows[1:])


def _resolve(future: asyncio.Future, value: object) -> None:
    if not future.done():
        future.set_result(value)


class GhostTextArea(TextArea):
    """A TextArea that shows a :class:`Suggester`'s continuation after the cursor."""

    @dataclass
    class Suggested(Message, bubble=False):
        """A worker's suggestion for request ``ask``, made for the text of edit ``version``
        (None: it failed)."""

        ask: int
        version: int
        suggestion: str | None
        error: str = ""

    def __init__(self, *args, suggester: Suggester | None = None, **kwargs) -> None:
        self.suggester = suggester
        self.suggestions_on = True
        self._version = 0  # text changes so far
        self._ghost, self._ghost_version = "", -1  # the suggestion, and for which text
        self._asked = -1  # the version a worker was last started for
        self._asks = self._taken = 0  # workers started; the one whose answer shows
        self._active = False  # typed since the suggestion was last dismissed
        self._keep: str | None = None  # set by edit(): what typing leaves of the suggestion
        self._rows: tuple[str, ...] = ()  # the suggestion below the cursor's row
        self._ghost_row = 0  # the cursor's row in the wrapped document
        self._ghost_style: Style | None = None
        self._failed = False
        self._answer: asyncio.Future | None = None
        # For tests and the benchmark: the edit the last worker answer was for, and when it
        # came; what suggestion was last drawn, for which edit, and when.
        self.answered, self.answered_at = -1, 0.0
        self.painted: tuple[int, str] = (-1, "")
        self.painted_at = 0.0
        super().__init__(*args, **kwargs)

    # -- what shows ----------------------------------------------------------------------
    @property
    def at_end(self) -> bool:
        """Whether the cursor is at the end of the text with nothing selected."""
        selection = self.selection
        return selection.is_empty and selection.end == self.document.end

    @property
    def edits(self) -> int:
        """How many times the text changed (a suggestion belongs to one of them)."""
        return self._version

    @property
    def ghost(self) -> str:
        """The suggestion shown after the cursor (while the widget has the focus), "" when none."""
        if (self.suggestions_on and self._active and self._ghost_version == self._version
                and self.at_end):
            return self._ghost
        return ""

    @property
    def expecting(self) -> bool:
        """Whether a suggestion shows or is on its way for the text as it is."""
        return (self.suggester is not None and self.suggestions_on and self._active and self.at_end
                and (self._ghost_version != self._version or bool(self._ghost)))

    def ghost_changed(self) -> None:
        """Called when what shows may have changed (a subclass updates its hints)."""

    # -- control -------------------------------------------------------------------------
    def set_suggestions(self, on: bool) -> None:
        """Turn suggestions on or off (off: none shows and none is computed)."""
        self.suggestions_on = on
        self._place()
        self.ask_suggestion()

    def refresh_suggestion(self) -> None:
        """What suggestions come from changed (model, settings): drop the one shown and ask again."""
        self._ghost_version, self._asked = -1, -1
        self._place()
        self.ask_suggestion()

    def dismiss_suggestion(self) -> None:
        """Hide the suggestion until the next edit."""
        self._active = False
        self._place()

    def accept_suggestion(self, part: Part = "all") -> bool:
        """Insert one character, one word or all of the suggestion; False when none shows."""
        ghost = self.ghost
        if not ghost:
            return False
        piece = ghost[:1] if part == "char" else next_word(ghost) if part == "word" else ghost
        self.insert(piece)
        return True

    # -- keeping it in step with the text ------------------------------------------------
    def edit(self, edit: Edit) -> EditResult:
        """Note what typing leaves of the suggestion before the text changes (see update_suggestion)."""
        ghost, end = self.ghost, self.document.end
        typed = edit.text and edit.from_location == edit.to_location == end
        self._keep = ghost[len(edit.text):] if typed and ghost.startswith(edit.text) else ""
        try:
            return super().edit(edit)
        finally:
            self._keep = None

    def update_suggestion(self) -> None:
        """TextArea's hook after every change of the text (edits, undo, loads)."""
        self._version += 1
        keep, self._keep = self._keep, None
        self._active = keep is not None  # an edit, not a load
        self._ghost, self._ghost_version = (keep, self._version) if keep else ("", -1)
        self._place()
        if self.is_mounted:
            # After the Changed message this edit posted: whoever reads the text first
            # (the prompt's analysis) does so before the worker competes with it.
            self.call_later(self.ask_suggestion)

    def watch_selection(self, old: Selection, new: Selection) -> None:
        """The cursor left the end (hide) or came back (show, or ask)."""
        if not self.is_mounted:
            return
        self._place()
        self.ask_suggestion()

    def on_resize(self) -> None:
        self.call_after_refresh(self._place)  # once TextArea has re-wrapped

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        self._ghost_style = None
        super().notify_style_update()

    # -- asking ----------------------------------------------------------------------------
    def ask_suggestion(self) -> None:
        """Start the worker for the text as it is, unless one already runs for it or none is wanted.

        Called after every edit; a widget that reads the text itself on an edit
        (the prompt's analysis) calls it once it is done, so the two never compete.
        """
        if (self.suggester is None or not self.suggestions_on or not self._active or not self.at_end
                or self._asked == self._version or not self.is_mounted):
            return
        self._asked = self._version
        self._asks += 1
        self._answer = asyncio.get_running_loop().create_future()
        self._suggest(self.suggester, self.text, self._asks, self._version, self._answer)

    async def await_suggestion(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the suggestion being computed, and show it.

        Awaited inside a batch update, it lets the edit and its suggestion be
        drawn in one frame (no frame without it) when the model is quick; a
        slower one shows when it comes.
        """
        answer = self._answer
        if answer is None or self._asked != self._version:
            return
        try:
            ask, version, suggestion, error = await asyncio.wait_for(asyncio.shield(answer), timeout)
        except TimeoutError:
            return
        self._take(ask, version, suggestion, error)

    @work(thread=True, exclusive=True, group="suggest", exit_on_error=False)
    def _suggest(self, suggester: Suggester, text: str, ask: int, version: int, answer: asyncio.Future) -> None:
        worker = get_current_worker()
        error = ""
        try:
            suggestion = suggester.suggest(text, lambda: worker.is_cancelled)
        except Exception as exc:  # said once; typing goes on without suggestions
            suggestion, error = None, f"{type(exc).__name__}: {exc}"
        if worker.is_cancelled:
            return
        # Whoever waits in the edit's frame gets it first; the message covers everyone else.
        try:
            answer.get_loop().call_soon_threadsafe(_resolve, answer, (ask, version, suggestion, error))
        except RuntimeError:  # the event loop is closed: the app has gone
            return
        self.post_message(self.Suggested(ask, version, suggestion, error))

    @on(Suggested)
    def _suggested(self, message: Suggested) -> None:
        self._take(message.ask, message.version, message.suggestion, message.error)

    def _take(self, ask: int, version: int, suggestion: str | None, error: str) -> None:
        """Show a worker's answer if it is the latest one asked for and the text is still
        the one it was computed for (each answer comes twice: see ``_suggest``)."""
        if suggestion is None:
            if error and not self._failed:
                self._failed = True
                self.notify(f"No suggestions: {error}", severity="warning", markup=False)
            return
        if version != self._version or ask != self._asks or ask == self._taken:
            return
        self._taken = ask
        self.answered, self.answered_at = version, time.perf_counter()
        self._ghost, self._ghost_version = displayable(suggestion), version
        self._place()

    # -- keys ------------------------------------------------------------------------------
    async def _on_key(self, event: events.Key) -> None:
        if event.key == "tab" and self.accept_suggestion("word"):
            event.stop()
            event.prevent_default()
        elif event.key == "escape" and self.ghost:
            self.dismiss_suggestion()  # and Esc goes on to whatever else it does (stop)

    def action_cursor_right(self, select: bool = False) -> None:
        if not self.ghost:
            super().action_cursor_right(select)
        elif not select:
            self.accept_suggestion("char")

    def action_cursor_word_right(self, select: bool = False) -> None:
        if select or not self.accept_suggestion("word"):
            super().action_cursor_word_right(select)

    def action_cursor_line_end(self, select: bool = False) -> None:
        if select or not self.accept_suggestion("all"):
            super().action_cursor_line_end(select)

    # -- drawing ---------------------------------------------------------------------------
    def _place(self) -> None:
        """Split the suggestion between the cursor's row and the rows below, and repaint."""
        ghost = self.ghost
        head, rows = ghost, ()
        if ghost and self.soft_wrap:
            width = self.scrollable_content_region.width - self.gutter_width
            if width > 0:
                x, self._ghost_row = self.wrapped_document.location_to_offset(self.document.end)
                head, rows = split_rows(ghost, width - x, width)
        if rows != self._rows:
            self._rows = rows
            self.refresh()
        self.suggestion = head  # TextArea draws it (and repaints when it changes)
        self.ghost_changed()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not (self.suggestion or self._rows) or (self.hide_suggestion_on_blur and not self.has_focus):
            return strip
        row = y + self.scroll_offset.y - self._ghost_row
        if 0 <= row <= len(self._rows):
            painted = (self._version, self.suggestion + "".join(self._rows))
            if painted != self.painted:
                self.painted, self.painted_at = painted, time.perf_counter()
        if not 0 < row <= len(self._rows):
            return strip
        segments = list(strip)
        base = segments[0].style if segments else None
        if self._ghost_style is None:
            self._ghost_style = self.get_component_rich_style("text-area--suggestion")
        style = base + self._ghost_style if base is not None else self._ghost_style
        line = [Segment(" " * self.gutter_width, base), Segment(self._rows[row - 1], style)]
        return Strip(line).adjust_cell_length(strip.cell_length, base)
