"""Save the transcript as Markdown (``.md``) or plain text (any other suffix).

Each entry records its prompt, the settings it was decoded with (and where a
setting changed while it streamed), its completion and its other results, and
the file starts with the model. Text is escaped for the terminal (a saved
transcript is often ``cat``-ed), and Markdown code fences are longer than any
run of backticks in the text they hold.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from charlm.data.sanitize import terminal_safe
from charlm.engine.modes import describe
from charlm.engine.settings import DecodeSettings, show_escapes


@dataclass(frozen=True)
class Record:
    """What the file says about one transcript entry."""

    prompt: str
    completion: str
    changes: tuple[tuple[int, DecodeSettings], ...]
    results: tuple[str, ...] = ()  # every result of the latest generation, when more than one
    chosen: int = 0
    status: str = ""


def settings_line(s: DecodeSettings) -> str:
    """Every decoding setting in one line ("sample 0.70 · length 200 · seed 1 · ...")."""
    parts = [describe(s), f"length {s.length}", f"seed {'random' if s.seed is None else s.seed}"]
    if s.num > 1:
        parts.append(f"results {s.num}")
    if s.stop:
        parts.append("stop " + ", ".join(repr(show_escapes(x)) for x in s.stop))
    return " · ".join(parts)


def default_path(now: datetime | None = None) -> str:
    """A fresh file name in the current folder: ``charlm-20260101-1200.md``."""
    return f"charlm-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}.md"


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _changes(record: Record) -> list[str]:
    lines = []
    for i, (position, s) in enumerate(record.changes):
        where = "" if i == 0 and position == 0 else f"from character {position}: "
        lines.append(f"{where}{settings_line(s)}")
    return lines


def render(records: Sequence[Record], model: str, markdown: bool, when: datetime | None = None) -> str:
    """The whole file as text."""
    stamp = (when or datetime.now()).isoformat(timespec="seconds")
    out: list[str] = []
    if markdown:
        out += ["# charlm transcript", "", f"- model: {model}", f"- saved: {stamp}", ""]
    else:
        out += ["charlm transcript", f"model: {model}", f"saved: {stamp}", ""]
    for n, r in enumerate(records, 1):
        status = {"cancelled": " (stopped)", "error": " (failed)"}.get(r.status, "")
        if markdown:
            out += [f"## {n}{status}", ""]
            out += [f"- settings: {line}" for line in _changes(r)] + [""]
            for label, text in (("prompt", r.prompt), ("completion", r.completion)):
                fence = _fence(text)
                out += [f"**{label}**", "", f"{fence}text", text, fence, ""]
            if len(r.results) > 1:
                out += [f"**results** (the completion above is result {r.chosen + 1})", ""]
                for i, text in enumerate(r.results, 1):
                    fence = _fence(text)
                    out += [f"{i}.", "", f"{fence}text", text, fence, ""]
        else:
            out += [f"--- {n}{status}"] + [f"settings: {line}" for line in _changes(r)]
            out += ["prompt:", r.prompt, "completion:", r.completion]
            for i, text in enumerate(r.results if len(r.results) > 1 else (), 1):
                out += [f"result {i}{' (chosen)' if i == r.chosen + 1 else ''}:", text]
            out.append("")
    return terminal_safe("\n".join(out).rstrip("\n") + "\n")


def save(path: str | Path, records: Sequence[Record], model: str) -> Path:
    """Write the transcript to ``path`` (Markdown for ``.md``/``.markdown``); returns the absolute path.

    Raises:
        OSError: the file cannot be written (the caller shows why).
    """
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / default_path()
    markdown = target.suffix.lower() in (".md", ".markdown")
    text = render(records, model, markdown)
    target = target.absolute()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
