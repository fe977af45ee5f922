"""Parsers from subtitle and text formats to documents (one dialogue per cue).

SubRip is read the way the seed study reads it (index and timestamp lines
dropped, speaker dashes removed, a cue's lines joined by a space), plus what
real files contain: markup tags, ASS override codes, blank-line runs and
cues without text.
"""

from __future__ import annotations

import html
import re

_TIMESTAMP = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2})?[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}")
_INDEX = re.compile(r"^\s*\d+\s*$")
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<\d[\d:.]*>")
_ASS = re.compile(r"\{\\[^}]*\}")
_DASH = re.compile(r"^\s*[-\u2010\u2012\u2013\u2014]+\s*")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _clean_line(line: str) -> str:
    line = _ASS.sub("", line)
    line = _TAG.sub("", line)
    line = html.unescape(line)
    line = _DASH.sub("", line)
    return line.strip()


def _join_cue(lines: list[str]) -> str:
    parts = [_clean_line(line) for line in lines]
    return " ".join(p for p in parts if p)


def parse_srt(text: str) -> list[str]:
    """SubRip text -> one string per cue with text (empty cues skipped)."""
    lines = text.split("\n")
    docs: list[str] = []
    current: list[str] | None = None
    for i, line in enumerate(lines):
        if _TIMESTAMP.match(line):
            if current is not None:
                docs.append(_join_cue(current))
            current = []
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _INDEX.match(line) and _TIMESTAMP.match(nxt):
            continue  # the cue number belongs to the next cue
        if current is not None and line.strip():
            current.append(line)
    if current is not None:
        docs.append(_join_cue(current))
    return [d for d in docs if d]


def parse_vtt(text: str) -> list[str]:
    """WebVTT text -> one string per cue (header, NOTE/STYLE/REGION blocks dropped)."""
    docs: list[str] = []
    for block in _PARAGRAPH.split(text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        head = lines[0].strip()
        if head.startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        ts = next((i for i, ln in enumerate(lines) if _TIMESTAMP.match(ln)), None)
        if ts is None:
            continue
        cue = _join_cue(lines[ts + 1 :])
        if cue:
            docs.append(cue)
    return docs


def parse_plain(text: str) -> list[str]:
    """Plain text or Markdown -> paragraphs (blank-line separated), hard line wraps joined."""
    paragraphs = (" ".join(ln.strip() for ln in p.split("\n") if ln.strip()) for p in _PARAGRAPH.split(text))
    return [p for p in paragraphs if p]


def sniff_format(text: str) -> str:
    """Guess the format of text with no file name (stdin)."""
    first = text.lstrip().split("\n", 1)[0].strip()
    if first.startswith("WEBVTT"):
        return "vtt"
    if any(_TIMESTAMP.match(line) for line in text.split("\n", 200)[:200]):
        return "srt"
    return "plain"


PARSERS = {"srt": parse_srt, "vtt": parse_vtt, "plain": parse_plain}
SUFFIXES = {".srt": "srt", ".vtt": "vtt", ".txt": "plain", ".md": "plain"}
