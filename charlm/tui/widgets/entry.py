"""One transcript entry: a prompt, the completion streaming after it, its other results.

The prompt is plain and the completion bold in the accent colour or, with
confidence colouring on, each generated character coloured by how likely the
model found it. Where a setting changed while it streamed, a mark such as
``‹greedy›`` shows the settings the text after it came from. When a
completion has several results, the others follow it, one per line,
numbered; choosing one makes it the completion that is copied, saved and
continued.

Entries draw with Textual's line API over their own word wrapping
(:mod:`~charlm.tui.widgets.wrap`), which is incremental: appending streamed
characters re-wraps only the last line and repaints only lines that changed,
so a 10,000-character completion costs the same per frame as a short one.
Every character is escaped for the terminal first: a model's output never
reaches the terminal raw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from charlm.data.sanitize import terminal_safe
from charlm.engine.modes import describe
from charlm.engine.settings import DecodeSettings
from charlm.tui.widgets.wrap import Wrapped

#: Upper probability bounds of the confidence buckets (component classes entry--conf-N).
CONFIDENCE_BOUNDS = (0.1, 0.3, 0.6, 0.85)
BUCKETS = len(CONFIDENCE_BOUNDS) + 1
PROMPT, MARK, ALT, ALT_LABEL = -1, -2, -3, -4  # "buckets" of what is not generated text
STATUS_TEXT = {"streaming": " ▍", "cancelled": " ⏹ stopped", "error": " ⚠ failed"}


def confidence_bucket(logprob: float) -> int:
    """0 (the model found the character unlikely) to 4 (near certain)."""
    p = math.exp(logprob) if logprob > -700 else 0.0
    for i, bound in enumerate(CONFIDENCE_BOUNDS):
        if p < bound:
            return i
    return len(CONFIDENCE_BOUNDS)


def display_chars(text: str) -> list[list[str]]:
    """What each character of ``text`` shows as: itself, or its escape (``\\x1b``) when unsafe."""
    safe = terminal_safe(text)
    if safe == text:
        return [[c if c == "\n" or c.isprintable() else " "] for c in text]
    return [list(terminal_safe(c)) for c in text]


@dataclass
class Result:
    """One result of a generation: its text and the model's log-prob of each character."""

    text: list[str] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)


class Entry(Widget):
    """One prompt and everything generated after it (continuations included)."""

    DEFAULT_CSS = """
    Entry {
        height: auto;
        padding: 0 1;
        margin-top: 1;
        border-left: blank;
    }
    Entry.-selected { border-left: thick $accent; }
    Entry > .entry--prompt { color: $text; }
    Entry > .entry--generated { color: $text-accent; text-style: bold; }
    Entry > .entry--status { color: $text-muted; text-style: italic; }
    Entry > .entry--mark { color: $text-muted; text-style: italic; }
    Entry > .entry--alt { color: $text-secondary; }
    Entry > .entry--alt-label { color: $text-muted; }
    Entry > .entry--conf-0 { color: $text-error; text-style: bold; }
    Entry > .entry--conf-1 { color: $text-warning; text-style: bold; }
    Entry > .entry--conf-2 { color: $text-accent; text-style: bold; }
    Entry > .entry--conf-3 { color: $text-primary; text-style: bold; }
    Entry > .entry--conf-4 { color: $text-success; text-style: bold; }
    """

    COMPONENT_CLASSES = {
        "entry--prompt", "entry--generated", "entry--status", "entry--mark", "entry--alt",
        "entry--alt-label", *(f"entry--conf-{i}" for i in range(BUCKETS)),
    }

    def __init__(self, prompt: str, confidence: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.confidence = confidence
        self.status = ""
        self._fixed = Result()  # generated before the latest generation (continuations)
        self.results: list[Result] = [Result()]
        self.chosen = 0
        self._done = True  # the latest generation finished (its other results are shown)
        #: (position in the generated text, settings from there on): where each generation
        #: began and where a setting changed live. The saved transcript lists them.
        self.changes: list[tuple[int, DecodeSettings]] = []
        self._marks: list[tuple[int, str]] = []  # shown in the text: (position, label)
        self._buckets: list[int] = []  # per display character: a confidence bucket or a kind
        self._text = Wrapped(80)
        self._strips: dict[int, Strip] = {}
        self._styles: dict[int | str, Style] | None = None
        # When the first generated character was painted (perf_counter; the benchmark reads it).
        self.first_painted_at = 0.0
        self._rebuild()

    # -- content --------------------------------------------------------------------------
    @property
    def generated(self) -> str:
        """All text the model produced for this entry (with the chosen result)."""
        return "".join(self._fixed.text) + "".join(self.results[self.chosen].text)

    @property
    def context(self) -> str:
        """Prompt plus completion: what a continuation conditions on."""
        return self.prompt + self.generated

    @property
    def alternatives(self) -> list[str]:
        """The texts of every result of the latest generation (the chosen one included)."""
        return ["".join(r.text) for r in self.results]

    def begin(self, settings: DecodeSettings) -> None:
        """A generation starts appending here: the chosen result becomes fixed text."""
        chosen = self.results[self.chosen]
        self._fixed.text += chosen.text
        self._fixed.logprobs += chosen.logprobs
        rebuild = len(self.results) > 1 or self.chosen != 0
        self.results, self.chosen, self._done = [Result()], 0, False
        self.changes.append((len(self._fixed.text), settings))
        if rebuild:
            self._rebuild()

    def append(self, text: str, logprobs: Sequence[float]) -> None:
        """Add streamed characters; ``logprobs`` has one value per character."""
        if not text:
            return
        lps = list(logprobs) + [0.0] * (len(text) - len(logprobs))
        streamed = self.results[0]
        height = self._height()
        start = len(self._fixed.text) + len(streamed.text)
        streamed.text.extend(text)
        streamed.logprobs.extend(lps[: len(text)])
        chars, buckets = self._generated_display(text, lps, start)
        self._add(chars, buckets)
        self.refresh(layout=self._height() != height)

    def add_marks(self, marks: Sequence[tuple[int, DecodeSettings]]) -> None:
        """Live changes of settings: each shows where the text decided under it begins."""
        for position, settings in marks:  # ahead of the text shown: drawn when it gets there
            self.changes.append((position, settings))
            self._marks.append((position, f"‹{describe(settings)}›"))

    def finish(self, status: str, results: Sequence[tuple[str, Sequence[float]]] = ()) -> None:
        """The generation ended; ``results`` (text, log-probs) are its others, in rank order."""
        self._done = True
        if len(results) > 1 and status == "":
            self.results = [self.results[0], *(Result(list(t), list(lp)) for t, lp in results[1:])]
            self._rebuild()
        self.set_status(status)

    def choose(self, index: int) -> None:
        """Make result ``index`` of the latest generation the completion."""
        if 0 <= index < len(self.results) and index != self.chosen:
            self.chosen = index
            self._rebuild()
            self.refresh(layout=True)

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

    # -- display characters ---------------------------------------------------------------
    def _generated_display(self, text: Sequence[str], logprobs: Sequence[float], start: int,
                           marks: bool = True) -> tuple[list[str], list[int]]:
        """Display characters and buckets of generated ``text`` beginning at ``start``."""
        chars: list[str] = []
        buckets: list[int] = []
        pending = sorted(m for m in self._marks if start <= m[0] < start + len(text)) if marks else []
        for i, (shown, lp) in enumerate(zip(display_chars("".join(text)), logprobs, strict=True)):
            while pending and pending[0][0] == start + i:
                label = pending.pop(0)[1]
                chars.extend(label)
                buckets.extend([MARK] * len(label))
            chars.extend(shown)
            buckets.extend([confidence_bucket(lp)] * len(shown))
        return chars, buckets

    def _rebuild(self) -> None:
        """Lay the whole entry out again (a result chosen, results added, a continuation)."""
        chars: list[str] = []
        buckets: list[int] = []
        for shown in display_chars(self.prompt):
            chars.extend(shown)
            buckets.extend([PROMPT] * len(shown))
        fixed, chosen = self._fixed, self.results[self.chosen]
        for part, start, marks in ((fixed, 0, True), (chosen, len(fixed.text), self.chosen == 0)):
            c, b = self._generated_display(part.text, part.logprobs, start, marks)
            chars += c
            buckets += b
        if self._done and len(self.results) > 1:
            for i, result in enumerate(self.results):
                if i == self.chosen:
                    continue
                label = f"\n#{i + 1} "
                chars.extend(label)
                buckets.extend([ALT_LABEL] * len(label))
                for shown in display_chars("".join(result.text)):
                    chars.extend(shown)
                    buckets.extend([ALT] * len(shown))
        self._buckets = []
        self._text = Wrapped(self._text.width)
        self._strips.clear()
        self._add(chars, buckets)

    def _add(self, chars: list[str], buckets: list[int]) -> None:
        self._buckets.extend(buckets)
        first = self._text.extend(chars)
        for y in [y for y in self._strips if y >= first]:
            del self._strips[y]

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
        if not self.first_painted_at and self.results[0].text:
            self.first_painted_at = time.perf_counter()
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._build_line(y, width)
        return strip

    def _style(self, key: int | str) -> Style:
        if self._styles is None:  # resolving CSS costs ~1 ms a style: once per theme
            self._styles = {PROMPT: self.get_component_rich_style("entry--prompt"),
                            MARK: self.get_component_rich_style("entry--mark"),
                            ALT: self.get_component_rich_style("entry--alt"),
                            ALT_LABEL: self.get_component_rich_style("entry--alt-label"),
                            "generated": self.get_component_rich_style("entry--generated"),
                            "status": self.get_component_rich_style("entry--status"),
                            "base": self.rich_style}
            for i in range(BUCKETS):
                self._styles[i] = self.get_component_rich_style(f"entry--conf-{i}")
        return self._styles[key]

    def _char_style(self, bucket: int) -> Style:
        if bucket < 0:
            return self._style(bucket)
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

    @property
    def shown(self) -> str:
        """The entry's text as displayed (escapes, marks and other results included)."""
        return "".join(self._text.chars)
