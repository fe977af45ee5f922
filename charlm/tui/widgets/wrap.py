"""Incremental word wrap for the transcript: appending characters re-wraps only the last line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import get_character_cell_size


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
