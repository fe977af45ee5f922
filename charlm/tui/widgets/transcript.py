"""The transcript: each prompt followed by the completion streaming in after it.

An :class:`Entry` shows the prompt plain and the completion bold in the
accent colour or, with confidence colouring on, each generated character
coloured by how likely the model found it. Entries draw with Textual's line
API over their own word wrapping, which is incremental: appending streamed
characters re-wraps only the last line and repaints only lines that
changed, so a 10,000-character completion costs the same per frame as a
short one. The scroll container stays anchored to the bottom until the user
scrolls up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from rich.cells import get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

#: Upper probability bounds of the confidence buckets (component classes entry--conf-N).
CONFIDENCE_BOUNDS = (0.1, 0.3, 0.6, 0.85)
BUCKETS = len(CONFIDENCE_BOUNDS) + 1
PROMPT = -1  # the "bucket" of prompt characters
STATUS_TEXT = {"streaming": " ▍", "cancelled": " ⏹ stopped", "error": " ⚠ failed"}


def confidence_bucket(logprob: float) -> int:
    """0 (the model found the character unlikely) to 4 (near certain)."""
    p = math.exp(logprob) if logprob > -700 else 0.0
    for i, bound in enumerate(CONFIDENCE_BOUNDS):
        if p < bound:
            return i
    return len(CONFIDENCE_BOUNDS)


class Wrapped:
    """Greedy word wrap of a growing text, kept up to date as characters are appended.

    A line ends at a newline, or before the character that would overflow
    ``width`` (after the last space, if the line has one; a space that would
    overflow is the break and is not shown). Earlier lines never
    change when text is appended, so :meth:`extend` re-wraps only the last.
    ``lines`` holds (start, end) character indices; newlines are not in them.
    """

    def __init__(self, width: int) -> None:
        self.width = max(1, width)
        self.chars: list[str] = []
        self.cells: list[int] = []
        self.lines: list[tuple[int, int]] = [(0, 0)]

    def extend(self, chars: Sequence[str]) -> int:
        """Append display characters; returns the index of the first line that changed."""
        first = len(self.lines) - 1
        start, _ = self.lines.pop()
        for char in chars:
            self.chars.append(char)
            self.cells.append(0 if char == "\n" else get_character_cell_size(char))
        self._wrap_from(start)
        return first

    def rewrap(self, width: int) -> None:
        self.width = max(1, width)
        self.lines = []
        self._wrap_from(0)

    def _wrap_from(self, start: int) -> None:
        chars, cells, width, lines = self.chars, self.cells, self.width, self.lines
        used, space = 0, -1
        i = start
        while i < len(chars):
            char = chars[i]
            if char == "\n":
                lines.append((start, i))
                start, used, space = i + 1, 0, -1
            elif used + cells[i] > width and i > start:
                if char == " ":  # the overflowing space is the break itself
                    lines.append((start, i))
                    start, used, space = i + 1, 0, -1
                else:
                    cut = space + 1 if space >= start else i
                    lines.append((start, cut))
                    start, used, space = cut, 0, -1
                    i = cut  # re-place the characters after the break on the new line
                    continue
            else:
                used += cells[i]
                if char == " ":
                    space = i
            i += 1
        lines.append((start, len(chars)))

    def used(self, line: int) -> int:
        start, end = self.lines[line]
        return sum(self.cells[start:end])


class Entry(Widget):
    """One prompt and everything generated after it (continuations included)."""

    DEFAULT_CSS = """
    Entry {
        height: auto;
        padding: 0 1;
        margin-top: 1;
    }
    Entry > .entry--prompt { color: $text; }
    Entry > .entry--generated { color: $text-accent; text-style: bold; }
    Entry > .entry--status { color: $text-muted; text-style: italic; }
    Entry > .entry--conf-0 { color: $text-error; text-style: bold; }
    Entry > .entry--conf-1 { color: $text-warning; text-style: bold; }
    Entry > .entry--conf-2 { color: $text-accent; text-style: bold; }
    Entry > .entry--conf-3 { color: $text-primary; text-style: bold; }
    Entry > .entry--conf-4 { color: $text-success; text-style: bold; }
    """

    COMPONENT_CLASSES = {
        "entry--prompt", "entry--generated", "entry--status",
        *(f"entry--conf-{i}" for i in range(BUCKETS)),
    }

    def __init__(self, prompt: str, confidence: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.confidence = confidence
        self.status = ""
        self._generated: list[str] = []
        self._buckets: list[int] = []  # per display character: PROMPT or a confidence bucket
        self._text = Wrapped(80)
        self._strips: dict[int, Strip] = {}
        self._styles: dict[int | str, Style] | None = None
        # When the first generated character was painted (perf_counter; the benchmark reads it).
        self.first_painted_at = 0.0
        self._add(prompt, [PROMPT] * len(prompt))

    @property
    def generated(self) -> str:
        """All text the model produced for this entry."""
        return "".join(self._generated)

    @property
    def context(self) -> str:
        """Prompt plus completion: what a continuation conditions on."""
        return self.prompt + self.generated

    def append(self, text: str, logprobs: Sequence[float]) -> None:
        """Add streamed characters; ``logprobs`` has one value per character."""
        if not text:
            return
        self._generated.append(text)
        lps = list(logprobs) + [0.0] * (len(text) - len(logprobs))
        height = self._height()
        self._add(text, [confidence_bucket(lp) for lp in lps[: len(text)]])
        self.refresh(layout=self._height() != height)

    def _add(self, text: str, buckets: list[int]) -> None:
        shown = [c if c == "\n" or c.isprintable() else " " for c in text]
        self._buckets.extend(buckets)
        first = self._text.extend(shown)
        for y in [y for y in self._strips if y >= first]:
            del self._strips[y]

    def set_status(self, status: str) -> None:
        """"streaming", "cancelled", "error" or "" (finished normally)."""
        self.status = status
        self._strips.pop(len(self._text.lines) - 1, None)
        self._strips.pop(len(self._text.lines), None)
        self.refresh(layout=True)

    def set_confidence(self, on: bool) -> None:
        self.confidence = on
        self._strips.clear()
        self.refresh()

    # -- drawing --------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._strips.clear()

    def _wrap(self, width: int) -> Wrapped:
        if width != self._text.width and width > 0:
            self._text.rewrap(width)
            self._strips.clear()
        return self._text

    def _marker_line(self) -> int | None:
        """The line the status marker goes on: the last one, or a line of its own."""
        marker = STATUS_TEXT.get(self.status)
        if not marker:
            return None
        last = len(self._text.lines) - 1
        fits = self._text.used(last) + len(marker) <= self._text.width
        return last if fits else last + 1

    def _height(self) -> int:
        """Lines at the current wrap width, the status marker's own line included."""
        marker = self._marker_line()
        return max(len(self._text.lines), 0 if marker is None else marker + 1)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._wrap(width)
        return self._height()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        self._wrap(width)
        if self._generated and not self.first_painted_at:
            self.first_painted_at = time.perf_counter()
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._build_line(y, width)
        return strip

    def _style(self, key: int | str) -> Style:
        if self._styles is None:  # resolving CSS costs ~1 ms a style: once per theme
            self._styles = {PROMPT: self.get_component_rich_style("entry--prompt"),
                            "generated": self.get_component_rich_style("entry--generated"),
                            "status": self.get_component_rich_style("entry--status"),
                            "base": self.rich_style}
            for i in range(BUCKETS):
                self._styles[i] = self.get_component_rich_style(f"entry--conf-{i}")
        return self._styles[key]

    def _char_style(self, bucket: int) -> Style:
        if bucket == PROMPT:
            return self._style(PROMPT)
        return self._style(bucket if self.confidence else "generated")

    def _build_line(self, y: int, width: int) -> Strip:
        segments: list[Segment] = []
        text = self._text
        if y < len(text.lines):
            start, end = text.lines[y]
            run_start = start
            for i in range(start, end + 1):
                if i == end or (i > run_start and
                                self._buckets[i] != self._buckets[run_start]):
                    if i > run_start:
                        segments.append(Segment("".join(text.chars[run_start:i]),
                                                self._char_style(self._buckets[run_start])))
                    run_start = i
        if y == self._marker_line():
            segments.append(Segment(STATUS_TEXT[self.status], self._style("status")))
        return Strip(segments).adjust_cell_length(width, self._style("base"))

    def as_text(self) -> Text:
        """The entry as styled Rich Text (what the lines show, unwrapped; tests read it)."""
        out = Text()
        for char, bucket in zip(self._text.chars, self._buckets, strict=True):
            out.append(char, self._char_style(bucket))
        return out


class Transcript(VerticalScroll):
    """All entries of this session, newest at the bottom."""

    DEFAULT_CSS = """
    Transcript {
        border: round $primary 50%;
        border-title-color: $text-primary;
        height: 1fr;
    }
    Transcript:focus { border: round $primary; }
    Transcript > .hint { color: $text-muted; padding: 0 1; }
    """

    HINT = ("Type a prompt below and press Enter: the model's continuation streams in here, "
            "after your text.")

    def __init__(self, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.border_title = "transcript"
        self.confidence = False
        self._entries: list[Entry] = []

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

    def new_entry(self, prompt: str) -> Entry:
        """An entry for ``prompt``, last in the transcript but not shown until :meth:`show`."""
        entry = Entry(prompt, self.confidence)
        self._entries.append(entry)
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
        self.remove_children()
        self.mount(Static(self.HINT, classes="hint"))

    def set_confidence(self, on: bool) -> None:
        self.confidence = on
        for entry in self._entries:
            entry.set_confidence(on)

    @property
    def text(self) -> str:
        """Plain text of every entry (tests read it)."""
        return "\n\n".join(e.context for e in self._entries)
