"""Load a corpus from files, folders or stdin into normalised documents."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from charlm.data.formats import PARSERS, SUFFIXES, sniff_format
from charlm.data.normalize import Normalization, fingerprint
from charlm.errors import CorpusError

#: Separator between documents (paragraphs) in the model text.
DOC_SEPARATOR = "\n"
#: Subtitle cues are joined by a space, as the seed study does: a film's dialogue reads as
#: one running text (a cue boundary is not a paragraph break).
CUE_SEPARATOR = " "
SUBTITLE_FORMATS = ("srt", "vtt")
_BINARY_PROBE = 8192


@dataclass(frozen=True)
class Corpus:
    """Normalised documents plus where they came from."""

    documents: tuple[str, ...]
    sources: tuple[str, ...]
    normalization: Normalization
    warnings: tuple[str, ...] = field(default=())
    separator: str = DOC_SEPARATOR

    @property
    def text(self) -> str:
        return self.separator.join(self.documents)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.text, self.normalization)

    def __len__(self) -> int:
        return len(self.text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(raw: bytes, source: str) -> tuple[str, str | None]:
    """UTF-8 (BOM tolerated) or, failing that, cp1252/latin-1 with a warning.

    Returns the text and a warning (None when it was clean UTF-8).
    """
    if b"\0" in raw[:_BINARY_PROBE]:
        raise CorpusError(f"{source}: looks like a binary file, not text")
    try:
        return _newlines(raw.decode("utf-8-sig")), None
    except UnicodeDecodeError as exc:
        bad = exc.start
    for encoding in ("cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        warning = (
            f"{source}: not valid UTF-8 (byte {bad}); decoded as {encoding}. Convert it to UTF-8 if accents look wrong."
        )
        return _newlines(text), warning
    raise CorpusError(f"{source}: cannot decode the file as UTF-8, cp1252 or latin-1")


def _expand(paths: Iterable[str | Path]) -> list[str | Path]:
    files: list[str | Path] = []
    for p in paths:
        if str(p) == "-":
            files.append("-")
            continue
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not found:
                raise CorpusError(f"{path}: no .srt, .vtt, .txt or .md files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise CorpusError(f"{path}: not a regular file")
        else:
            raise CorpusError(f"{path}: no such file or folder")
    return files


def _read(item: str | Path) -> tuple[str, str, str, str | None]:
    """Return (source name, text, format, decoding warning)."""
    if item == "-":
        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        text, warning = decode_bytes(raw, "<stdin>")
        return "<stdin>", text, sniff_format(text), warning
    path = Path(item)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from None
    text, warning = decode_bytes(raw, str(path))
    fmt = SUFFIXES.get(path.suffix.lower()) or sniff_format(text)
    return str(path), text, fmt, warning


def load_corpus(paths: Sequence[str | Path], normalization: Normalization | None = None) -> Corpus:
    """Read files, folders (recursively, sorted) or ``-`` (stdin) into one corpus.

    Raises:
        CorpusError: a path is missing, binary, undecodable, or nothing with
            text is left after parsing.
    """
    norm = normalization or Normalization()
    if not paths:
        raise CorpusError("no corpus given")
    documents: list[str] = []
    sources: list[str] = []
    warnings: list[str] = []
    formats: set[str] = set()
    for item in _expand(paths):
        source, text, fmt, warning = _read(item)
        if warning:
            warnings.append(warning)
        docs = [norm.apply(d).strip() for d in PARSERS[fmt](text)]
        docs = [d for d in docs if d]
        if not docs:
            warnings.append(f"{source}: no text found, skipped")
            continue
        documents.extend(docs)
        sources.append(source)
        formats.add(fmt)
    if not documents:
        raise CorpusError("the corpus is empty: no text found in " + ", ".join(map(str, paths)))
    separator = CUE_SEPARATOR if formats <= set(SUBTITLE_FORMATS) else DOC_SEPARATOR
    return Corpus(tuple(documents), tuple(sources), norm, tuple(warnings), separator)
