"""Load a corpus from files, folders or stdin into normalised documents.

Every step keeps a record of what it could not use, so a user learns it from
one warning line instead of from a model that learnt garbage:

* bytes -> text (:mod:`charlm.data.decode`): binary files are refused, other
  encodings read with a warning;
* control characters and terminal escape sequences are dropped (one warning
  for the whole load, counting them; :mod:`charlm.data.sanitize`): no model
  may learn to write them to a terminal. This applies to byte-exact text too;
* subtitle cues are parsed (:mod:`charlm.data.formats`), and what is not a
  cue is counted;
* the documents are normalised (:class:`~charlm.data.normalize.Normalization`).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from charlm.data.decode import decode_bytes, sniff_binary
from charlm.data.formats import READERS, SUFFIXES, Parsed, sniff_format
from charlm.data.normalize import Normalization, fingerprint
from charlm.data.sanitize import describe_counts, has_unsafe, strip_unsafe, terminal_safe, unsafe_counts
from charlm.errors import CorpusError

#: Separator between documents (paragraphs) in the model text.
DOC_SEPARATOR = "\n"
#: Subtitle cues are joined by a space, as the seed study does: a film's dialogue reads as
#: one running text (a cue boundary is not a paragraph break).
CUE_SEPARATOR = " "
#: Byte-exact plain files are concatenated as they are, like ``cat``.
EXACT_SEPARATOR = ""
SUBTITLE_FORMATS = ("srt", "vtt")
#: Files larger than this are checked for being binary from their first bytes before
#: they are read whole (a video named ``.srt`` must not be read into memory first).
SNIFF_ABOVE = 32 * 1024 * 1024
SNIFF_BYTES = 1024 * 1024
#: The most text one corpus may hold, in bytes, all its sources together. Reading a corpus
#: takes about 20 bytes of memory a byte at its peak (100 MB: 2 GB, docs/scaling.md), and an
#: endless pipe or ``/dev/zero`` on stdin must end in a message, not fill the memory.
MAX_CORPUS_BYTES = 1 << 30

__all__ = ["Corpus", "CorpusError", "decode_bytes", "load_corpus"]


@dataclass(frozen=True)
class Corpus:
    """Normalised documents plus where they came from."""

    documents: tuple[str, ...]
    sources: tuple[str, ...]
    normalization: Normalization
    warnings: tuple[str, ...] = field(default=())
    separator: str = DOC_SEPARATOR

    @cached_property
    def text(self) -> str:
        return self.separator.join(self.documents)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.text, self.normalization)

    def __len__(self) -> int:
        return len(self.text)


def _name(path: str | Path) -> str:
    """A path as messages show it: on one line, nothing a terminal would act on."""
    return terminal_safe(str(path), single_line=True)


def _expand(paths: Iterable[str | Path]) -> list[str | Path]:
    files: list[str | Path] = []
    for p in paths:
        if str(p) == "-":
            files.append("-")
            continue
        path = Path(p)
        if path.is_dir():
            try:
                found = sorted(f for f in path.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file())
            except OSError as exc:
                raise CorpusError(f"{_name(path)}: cannot read the folder ({exc.strerror or exc})") from None
            if not found:
                raise CorpusError(f"{_name(path)}: no .srt, .vtt, .txt or .md files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise CorpusError(f"{_name(path)}: not a regular file")
        else:
            raise CorpusError(f"{_name(path)}: no such file or folder")
    return files


def _check_size(size: int, source: str, limit: int) -> None:
    if size > limit:
        whole = "" if limit == MAX_CORPUS_BYTES else " with the files before it"
        raise CorpusError(f"{_name(source)}: the corpus would be larger than {MAX_CORPUS_BYTES:,} bytes{whole}, "
                          "more than charlm reads at once; train on a part of it")


def read_stream(stream: BinaryIO, source: str, limit: int) -> bytes:
    """All of ``stream``, judged text or binary from its first megabyte and refused past
    ``limit`` bytes, so that ``/dev/zero`` or an endless pipe ends in one line, not in
    exhausted memory.

    Raises:
        CorpusError: binary from the start, or more than ``limit`` bytes.
    """
    data = bytearray()
    sniffed = False
    while chunk := stream.read(SNIFF_BYTES):
        data += chunk
        if not sniffed and len(data) >= SNIFF_BYTES:
            sniff_binary(bytes(data[:SNIFF_BYTES]), source)
            sniffed = True
        _check_size(len(data), source, limit)
    return bytes(data)


def _read(item: str | Path, limit: int = MAX_CORPUS_BYTES) -> tuple[str, str, str, str | None, int]:
    """Return (source name, text, format, decoding warning, bytes read); at most ``limit`` bytes."""
    if item == "-":
        if hasattr(sys.stdin, "buffer"):
            raw = read_stream(sys.stdin.buffer, "<stdin>", limit)
        else:  # a text stream (tests, embedding)
            raw = sys.stdin.read(limit + 1).encode("utf-8", "surrogateescape")
            _check_size(len(raw), "<stdin>", limit)
        text, warning = decode_bytes(raw, "<stdin>")
        return "<stdin>", text, sniff_format(text), warning, len(raw)
    path = Path(item)
    try:
        size = path.stat().st_size
        _check_size(size, str(path), limit)
        if size > SNIFF_ABOVE:
            with path.open("rb") as f:
                sniff_binary(f.read(SNIFF_BYTES), str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{_name(path)}: cannot read ({exc.strerror or exc})") from None
    text, warning = decode_bytes(raw, str(path))
    fmt = SUFFIXES.get(path.suffix.lower()) or sniff_format(text)
    return str(path), text, fmt, warning, len(raw)


def _normalise(documents: list[str], norm: Normalization) -> list[str]:
    """Normalised, stripped, non-empty documents (byte-exact ones are only filtered).

    Parsed documents never contain a newline, and no normalisation step adds,
    removes or looks across one, so the documents are normalised in one call
    on their newline-joined text: one pass instead of one call per cue.
    """
    if norm.byte_exact:
        return [d for d in documents if d.strip()]
    joined = DOC_SEPARATOR.join(documents)
    if joined.count(DOC_SEPARATOR) == len(documents) - 1:
        normalised = norm.apply(joined).split(DOC_SEPARATOR)
    else:  # no parser makes such documents today; a future one must not mix them up
        normalised = [norm.apply(d) for d in documents]
    return [d for d in (n.strip() for n in normalised) if d]


class _Dropped:
    """Control characters dropped across a whole load, for one warning."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.chars = 0
        self.sources: list[str] = []

    def add(self, source: str, before: str, after: str) -> None:
        self.counts.update(unsafe_counts(before))
        self.chars += len(before) - len(after)
        if source not in self.sources[-1:]:
            self.sources.append(source)

    def warning(self) -> str | None:
        if not self.sources:
            return None
        names = self.sources
        if len(names) == 1:
            where = names[0]
        elif len(names) <= 3:
            where = ", ".join(names[:-1]) + " and " + names[-1]
        else:
            where = f"{names[0]}, {names[1]} and {len(names) - 2} more files"
        # Escape sequences are counted as one each; say how many characters they made.
        size = f" ({self.chars:,} characters)" if self.chars != sum(self.counts.values()) else ""
        what = describe_counts(self.counts)
        return f"dropped {what}{size} from {where}: no model may learn to write terminal controls"


def load_corpus(paths: Sequence[str | Path], normalization: Normalization | None = None) -> Corpus:
    """Read files, folders (recursively, sorted) or ``-`` (stdin) into one corpus.

    Warnings (one line each, naming the file): another encoding than UTF-8,
    control characters dropped (one warning for the whole load), parts of a
    subtitle file that are not cues, a file with no text (skipped).

    Raises:
        CorpusError: a path is missing or unreadable, a file is binary, or
            nothing with text is left; the message names the file and says why.
    """
    norm = normalization or Normalization()
    if not paths:
        raise CorpusError("no corpus given")
    documents: list[str] = []
    sources: list[str] = []
    warnings: list[str] = []
    empty: list[str] = []
    formats: set[str] = set()
    dropped = _Dropped()
    read = 0
    for item in _expand(paths):
        source, text, fmt, warning, size = _read(item, MAX_CORPUS_BYTES - read)
        read += size
        shown = _name(source)
        if warning:
            warnings.append(warning)
        clean, count = strip_unsafe(text)
        if count:
            dropped.add(shown, text, clean)
        del text
        parsed = Parsed("plain text", [clean]) if norm.byte_exact and fmt == "plain" else READERS[fmt](clean)
        warnings.extend(parsed.warnings(shown))
        docs = parsed.documents
        if fmt in SUBTITLE_FORMATS and has_unsafe(DOC_SEPARATOR.join(docs)):
            # HTML character references in cues (&#13;, &rlm;, &#x202e;) spell control characters too.
            cleaned = [strip_unsafe(d)[0] for d in docs]
            dropped.add(shown, "".join(docs), "".join(cleaned))
            docs = cleaned
        docs = _normalise(docs, norm)
        if not docs:
            reason = parsed.empty_reason(shown)
            empty.append(reason)
            warnings.append(f"{reason}, skipped")
            continue
        documents.extend(docs)
        sources.append(source)
        formats.add(fmt)
    dropped_warning = dropped.warning()
    if dropped_warning:
        warnings.append(dropped_warning)
    if not documents:
        more = f"; and {len(empty) - 3} more files with no text" if len(empty) > 3 else ""
        raise CorpusError("the corpus is empty: " + "; ".join(empty[:3]) + more)
    if norm.byte_exact and formats == {"plain"}:
        separator = EXACT_SEPARATOR
    elif formats <= set(SUBTITLE_FORMATS):
        separator = CUE_SEPARATOR
    else:
        separator = DOC_SEPARATOR
    return Corpus(tuple(documents), tuple(sources), norm, tuple(warnings), separator)
