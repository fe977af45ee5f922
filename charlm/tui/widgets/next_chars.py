"""The live next-character panel, and the prefix cache that makes it cheap per keystroke.

On every edit the screen asks :class:`~charlm.engine.prefix.PrefixCache`
for the distribution and the prompt's perplexity, and hands them here with
:meth:`NextChars.show`; ``shown_for`` records which text the bars belong to
(tests and the benchmark wait on it). Clicking a row types that character
into the prompt.
"""

from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

from charlm.data.sanitize import terminal_safe
from charlm.data.vocab import UNK
from charlm.tui.messages import PickChar

#: Characters that would be invisible or break the row, shown as symbols.
VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍", UNK: "�"}
EIGHTHS = " ▏▎▍▌▋▊▉"


def visible(char: str) -> str:
    """A printable stand-in for a character: a symbol for blanks, an escape (``\x1b``) for controls."""
    if char in VISIBLE:
        return VISIBLE[char]
    if char.isprintable():
        return char
    safe = terminal_safe(char, single_line=True)
    return safe if safe != char else "·"


def bar(fraction: float, width: int) -> str:
    """A bar of ``width`` cells filled to ``fraction`` with eighth-cell precision."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


class NextChars(Widget):
    """Bars of the most likely next characters with their probabilities.

    Drawn with the line API (one Strip of three segments per row, cached until
    the next distribution, resize or theme change): it repaints on every
    keystroke, and going through Rich Text cost several milliseconds a frame.
    """

    DEFAULT_CSS = """
    NextChars {
        height: 1fr;
        min-height: 3;
        border: round $primary 50%;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    NextChars > .next-chars--char { color: $text; text-style: bold; }
    NextChars > .next-chars--bar { color: $accent; }
    NextChars > .next-chars--prob { color: $text-muted; }
    """

    COMPONENT_CLASSES = {"next-chars--char", "next-chars--bar", "next-chars--prob"}

    def __init__(self, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.border_title = "next char"
        self.distribution: tuple[tuple[str, float], ...] = ()
        self.shown_for: str | None = None
        self.updates = 0
        # When the latest distribution was first drawn (perf_counter; the benchmark reads it).
        self.painted_at = 0.0
        self._lines: list[Strip] | None = None
        self._lines_key: tuple[int, int, int] | None = None
        self._styles: tuple[Style, Style, Style, Style] | None = None

    def show(self, text: str, distribution: list[tuple[str, float]]) -> None:
        """Display the distribution computed for prompt ``text``."""
        self.shown_for = text
        self.updates += 1
        self.distribution = tuple(distribution)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = self._styles = None  # theme or CSS changed: restyle the rows

    def render_line(self, y: int) -> Strip:
        lines = self._rows()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.content_size.width, self._styles[0] if self._styles else None)

    def _rows(self) -> list[Strip]:
        width, height = self.content_size
        key = (self.updates, width, height)
        if self._lines is not None and self._lines_key == key:
            return self._lines
        if self._lines_key is None or self._lines_key[0] != self.updates:
            self.painted_at = time.perf_counter()
        if self._styles is None:  # resolving CSS costs ~1 ms a style: once per theme
            self._styles = (self.rich_style, *(self.get_component_rich_style(f"next-chars--{part}")
                                               for part in ("char", "bar", "prob")))
        base, char_style, bar_style, prob_style = self._styles
        if not self.distribution:
            lines = [Strip([Segment("…", prob_style)]).adjust_cell_length(width, base)]
        else:
            lines = []
            for char, p in self.distribution[: max(1, height)]:
                pct = f"{100 * p:6.1f}%" if p >= 0.001 else "  <0.1%"
                label = visible(char)
                bar_width = max(1, width - 8 - Segment(label).cell_length)
                segments = [Segment(label + " ", char_style),
                            Segment(bar(p, bar_width), bar_style), Segment(pct, prob_style)]
                lines.append(Strip(segments).adjust_cell_length(width, base))
        self._lines, self._lines_key = lines, key
        return lines

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if 0 <= offset.y < len(self.distribution):
            self.post_message(PickChar(self.distribution[offset.y][0]))
