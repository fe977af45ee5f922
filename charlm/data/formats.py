"""Parsers from subtitle and text formats to documents (one dialogue per cue).

SubRip is read the way the seed study reads it (index and timestamp lines
dropped, speaker dashes removed, a cue's lines joined by a space), plus what
real files contain: markup tags, ASS override codes, blank-line runs and
cues without text.

Each ``read_*`` function also reports what it could not read as its format,
so that a broken file says what is wrong with it instead of leaving a corpus
that is mysteriously short:

* lines outside any cue (before the first timing line, a WebVTT block with
  no timing line, a cue number with no timing after it) are skipped and
  counted;
* a SubRip cue holds at most ``MAX_CUE_LINES`` lines of text (real cues hold
  one to three; a blank line inside one is tolerated): when more follows a
  cue, what comes after its first blank line (or its first ``MAX_CUE_LINES``
  lines) is not subtitles, and it is skipped and counted;
* a timing line that is recognisably a timing line but malformed
  (``00:00:03;000 -> 00:00:04;000``) still starts a cue, whose text is
  kept; it is counted too.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?[,.]\d{1,3}[^\S\n]*-->[^\S\n]*\d{1,2}:\d{2}"
#: A malformed timing line: a time with a wrong separator, a wrong arrow or none,
#: or any line with the arrow ``-->``, which only timing lines contain.
_BAD_TIME = r"\d+[:;.]\d+[:;.,]\d+[^\n]*?(?:-+>|=+>|\u2192|[^\S\n]-+[^\S\n]|[^\S\n]\d+[:;.]\d+)|[^\n]*-->"
_TIMESTAMP = re.compile(rf"^[^\S\n]*{_TIME}")
_TIMING = re.compile(rf"[^\S\n]*(?:(?P<ok>{_TIME})|(?P<bad>{_BAD_TIME}))")
_TIMING_LINES = re.compile(rf"^[^\S\n]*(?:(?P<ok>{_TIME})|(?P<bad>{_BAD_TIME}))[^\n]*$", re.MULTILINE)
_INDEX = re.compile(r"^\s*\d+\s*$")
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<\d[\d:.]*>")
_ASS = re.compile(r"\{\\[^}\n]*\}")
_DASHES = "-\u2010\u2012\u2013\u2014"
_DASH = re.compile(f"^[{_DASHES}]+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_BLANK_LINES = re.compile("\n\n+")

#: Lines of text one SubRip cue may hold; what follows beyond is not a cue.
MAX_CUE_LINES = 10
_SNIPPET = 40


@dataclass
class Parsed:
    """The documents read from one text, and what in it could not be read as its format."""

    format: str
    documents: list[str] = field(default_factory=list)
    cues: int = 0
    skipped_lines: int = 0
    skipped_bytes: int = 0
    first_skipped: str = ""
    bad_timings: int = 0
    first_bad_timing: str = ""

    def skip(self, text: str, offset: int, line: str) -> None:
        """Count ``line`` (at ``offset`` in ``text``) as not readable."""
        self.skipped_lines += 1
        self.skipped_bytes += len(line.encode("utf-8", "surrogatepass")) + 1
        if not self.first_skipped:
            self.first_skipped = _where(text, offset, line)

    def bad_timing(self, text: str, offset: int, line: str) -> None:
        self.bad_timings += 1
        if not self.first_bad_timing:
            self.first_bad_timing = _where(text, offset, line)

    def warnings(self, source: str) -> list[str]:
        """One line per kind of problem, naming ``source``; none for a clean file."""
        out = []
        if self.bad_timings:
            out.append(
                f"{source}: {self.bad_timings:,} of {self.cues:,} cue timings are malformed "
                f"(the first at {self.first_bad_timing}); the text of those cues was kept"
            )
        if self.skipped_lines and self.documents:
            out.append(
                f"{source}: {_lines(self.skipped_lines)} ({self.skipped_bytes:,} bytes) could not be parsed "
                f"as {self.format} and were skipped (the first at {self.first_skipped})"
            )
        return out

    def empty_reason(self, source: str) -> str:
        """Why no document came out of ``source``, on one line."""
        if self.cues == 0 and self.skipped_lines:
            return (
                f"{source}: no subtitle cues found ({_lines(self.skipped_lines)}, {self.skipped_bytes:,} bytes "
                f"could not be parsed as {self.format}; the first at {self.first_skipped})"
            )
        if self.cues:
            return f"{source}: no text found in its {self.cues:,} cue{'' if self.cues == 1 else 's'}"
        return f"{source}: no text found"


def _lines(n: int) -> str:
    return f"{n:,} line" if n == 1 else f"{n:,} lines"


def _where(text: str, offset: int, line: str) -> str:
    line = line.strip()
    snippet = line if len(line) <= _SNIPPET else line[: _SNIPPET - 1] + "\u2026"
    return f"line {text.count(chr(10), 0, offset) + 1}: {snippet!r}"


def _join_cue(lines: list[str]) -> str:
    """A cue's lines without markup, entities decoded and speaker dashes dropped, joined by a space.

    Markup and entities are handled on the whole cue at once (no pattern crosses a
    line). A line break spelt as a character reference (``&#10;``) breaks the line
    like any other, so it becomes a space too.
    """
    cue = "\n".join(lines)
    if "{" in cue:
        cue = _ASS.sub("", cue)
    if "<" in cue:
        cue = _TAG.sub("", cue)
    if "&" in cue:
        cue = html.unescape(cue).replace("\r", "\n")
    parts = [line.strip() for line in cue.split("\n")]
    parts = [_DASH.sub("", p).strip() if p[:1] in _DASHES and p else p for p in parts]
    return " ".join(p for p in parts if p)


def _srt_body(parsed: Parsed, text: str, start: int, end: int, *, in_cue: bool, before_cue: bool) -> None:
    """Read ``text[start:end]``: the lines between two timing lines (or the file's ends)."""
    body = text[start:end]
    stripped = body.lstrip()
    if not stripped:
        return
    start += len(body) - len(stripped)
    lines = stripped.rstrip().split("\n")
    if before_cue and _INDEX.match(lines[-1]):
        lines.pop()  # the number of the cue that follows
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            return
    if in_cue and len(lines) <= MAX_CUE_LINES and all(ln.strip() for ln in lines):
        kept = lines  # the usual cue: a few lines of text, nothing else
    else:
        # A blank line inside a cue happens; more text than a cue holds after one is not a cue.
        overflow = sum(1 for ln in lines if ln.strip()) > MAX_CUE_LINES
        kept = []
        gap = False
        offset = start
        for line in lines:
            if not line.strip():
                gap = bool(kept)
            elif not in_cue or (gap and (overflow or _INDEX.match(line))) or len(kept) >= MAX_CUE_LINES:
                parsed.skip(text, offset, line)
            else:
                kept.append(line)
            offset += len(line) + 1
    cue = _join_cue(kept)
    if cue:
        parsed.documents.append(cue)


def read_srt(text: str) -> Parsed:
    """SubRip text -> one document per cue with text, and what could not be parsed."""
    parsed = Parsed("SubRip")
    pos = 0
    for match in _TIMING_LINES.finditer(text):
        _srt_body(parsed, text, pos, match.start(), in_cue=parsed.cues > 0, before_cue=True)
        parsed.cues += 1
        if match.group("ok") is None:
            parsed.bad_timing(text, match.start(), match.group())
        pos = match.end()
    _srt_body(parsed, text, pos, len(text), in_cue=parsed.cues > 0, before_cue=False)
    return parsed


def read_vtt(text: str) -> Parsed:
    """WebVTT text -> one document per cue (header, NOTE/STYLE/REGION blocks dropped)."""
    parsed = Parsed("WebVTT")
    gaps = list(_PARAGRAPH.finditer(text))
    starts = [0] + [m.end() for m in gaps]
    ends = [m.start() for m in gaps] + [len(text)]
    for start, end in zip(starts, ends, strict=True):
        numbered = []  # (offset, line) of the block's non-blank lines
        offset = start
        for line in text[start:end].split("\n"):
            if line.strip():
                numbered.append((offset, line))
            offset += len(line) + 1
        if not numbered:
            continue
        head = numbered[0][1].strip()
        if head.startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        ts = next((k for k, (_, ln) in enumerate(numbered) if _TIMING.match(ln)), None)
        if ts is None:
            for offset, line in numbered:
                parsed.skip(text, offset, line)
            continue
        for offset, line in numbered[: max(ts - 1, 0)]:  # one identifier line may precede the timing
            parsed.skip(text, offset, line)
        parsed.cues += 1
        offset, timing = numbered[ts]
        if _TIMING.match(timing).group("ok") is None:  # type: ignore[union-attr]
            parsed.bad_timing(text, offset, timing)
        cue = _join_cue([ln for _, ln in numbered[ts + 1 :]])
        if cue:
            parsed.documents.append(cue)
    return parsed


def read_plain(text: str) -> Parsed:
    """Plain text or Markdown -> paragraphs (blank-line separated), hard line wraps joined.

    With string methods on whole lines rather than a loop per paragraph: a line
    stripped of its whitespace is empty exactly when it is blank, so after
    stripping, paragraphs are separated by runs of newlines.
    """
    lines = "\n".join([line.strip() for line in text.split("\n")]).strip("\n")
    return Parsed("plain text", [p.replace("\n", " ") for p in _BLANK_LINES.split(lines) if p])


def parse_srt(text: str) -> list[str]:
    """SubRip text -> one string per cue with text (empty cues skipped)."""
    return read_srt(text).documents


def parse_vtt(text: str) -> list[str]:
    """WebVTT text -> one string per cue (header, NOTE/STYLE/REGION blocks dropped)."""
    return read_vtt(text).documents


def parse_plain(text: str) -> list[str]:
    """Plain text or Markdown -> paragraphs (blank-line separated), hard line wraps joined."""
    return read_plain(text).documents


def sniff_format(text: str) -> str:
    """Guess the format of text with no file name (stdin)."""
    first = text.lstrip().split("\n", 1)[0].strip()
    if first.startswith("WEBVTT"):
        return "vtt"
    if any(_TIMESTAMP.match(line) for line in text.split("\n", 200)[:200]):
        return "srt"
    return "plain"


READERS = {"srt": read_srt, "vtt": read_vtt, "plain": read_plain}
PARSERS = {"srt": parse_srt, "vtt": parse_vtt, "plain": parse_plain}
SUFFIXES = {".srt": "srt", ".vtt": "vtt", ".txt": "plain", ".md": "plain"}
