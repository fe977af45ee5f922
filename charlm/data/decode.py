"""Bytes to text: byte-order marks, UTF-8, a cp1252 fallback, and text told from binary.

Decoding never drops a whole file for a few bad bytes, and never trains a
model on an image:

1. A byte-order mark says the encoding: UTF-32 (LE, BE), UTF-8, UTF-16 (LE,
   BE). UTF-32-LE's mark starts with UTF-16-LE's, so UTF-32 is checked first.
   A file that starts with a mark but does not decode strictly as what it
   declares is binary (random bytes after ``FF FE`` fail within a few dozen).
2. Otherwise UTF-8. A file that is UTF-8 but for a few bad bytes (at least
   four valid non-ASCII characters for each invalid byte) is read as UTF-8 and
   the bad bytes are dropped, with a warning: reading it as cp1252 instead
   would garble every accent in it.
3. Otherwise cp1252 (Windows Western European, a superset of latin-1's
   letters), with a warning. The five bytes cp1252 leaves undefined are read
   as latin-1 gives them, C1 control characters, which corpus loading drops.

Text or binary is decided on the whole file by the share of bytes that no
text contains (NUL and the C0 controls other than tab, newline, vertical
tab, form feed, carriage return, ESC and BEL; ESC and BEL are left out
because terminal captures and hostile corpora are full of them, and they
are dropped later anyway):

* more than 5% NUL bytes: binary, whatever the encoding (executables, tar
  archives, UTF-16 without a byte-order mark -- which is called binary, with
  a hint to convert it, rather than guessed);
* valid UTF-8 (or a declared UTF-16/32) with more than 20% such bytes: binary;
* not UTF-8 with more than 2% such bytes: binary. A legacy 8-bit text has
  none; compressed and random data (PNG, JPEG, zip, gzip) has about 10%.

However short the file, it takes more than two such bytes (``hola\x00mundo``
is a text with a stray NUL). A text file with a few NUL or control bytes
anywhere is text: they are dropped, and counted, by corpus loading
(:func:`charlm.data.sanitize.strip_unsafe`). A large file is first judged by
its first bytes (:func:`sniff_binary`), so that a video named ``.srt`` is
refused before it is read into memory.
"""

from __future__ import annotations

import codecs
import re

from charlm.data.sanitize import terminal_safe
from charlm.errors import CorpusError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32-LE"),  # before UTF-16-LE: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32-BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16-LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16-BE"),
)

#: Bytes that no text contains (see the module docstring).
_BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x1b\x07") + b"\x7f"
MAX_NUL_SHARE = 0.05
MAX_CONTROL_SHARE_UTF8 = 0.20
MAX_CONTROL_SHARE_LEGACY = 0.02
#: However short the file, it takes more than this many such bytes to call it binary:
#: ``hola\x00mundo`` is a text with a stray NUL.
MIN_BINARY_BYTES = 2
#: Valid non-ASCII characters per invalid byte above which a file is damaged UTF-8, not cp1252.
_DAMAGED_UTF8_RATIO = 4

#: Invalid UTF-8 bytes as ``surrogateescape`` decodes them.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _newlines(text: str) -> str:
    """Universal newlines, as ``open()`` reads text: CR LF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_not_binary(raw: bytes, source: str, max_control_share: float) -> None:
    nul = raw.count(0)
    controls = len(raw) - len(raw.translate(None, _BINARY_BYTES))
    too_many_nul = nul > max(MAX_NUL_SHARE * len(raw), MIN_BINARY_BYTES)
    if not too_many_nul and controls <= max(max_control_share * len(raw), MIN_BINARY_BYTES):
        return
    hint = " (UTF-16 without a byte-order mark? save it as UTF-8)" if too_many_nul and _looks_like_utf16(raw) else ""
    raise CorpusError(f"{source}: looks like a binary file, not text{hint}")


def _looks_like_utf16(raw: bytes) -> bool:
    """ASCII-range text in UTF-16: every other byte NUL, the others almost never."""
    sample = raw[:4096]
    evens, odds = sample[0::2], sample[1::2]
    return any(
        zeros.count(0) >= 0.5 * len(zeros) and others.count(0) <= 0.02 * len(others)
        for zeros, others in ((odds, evens), (evens, odds))
        if zeros
    )


def _decode_with_bom(raw: bytes, source: str) -> str | None:
    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise CorpusError(
                    f"{source}: looks like a binary file, not text (it starts with a {label} byte-order mark "
                    f"but byte {exc.start + len(bom)} is not valid {label})"
                ) from None
            _check_not_binary(raw if codec == "utf-8" else text.encode("utf-8"), source, MAX_CONTROL_SHARE_UTF8)
            return text
    return None


def _decode_legacy(raw: bytes, source: str, bad: int) -> tuple[str, str]:
    """Damaged UTF-8 (bad bytes dropped) or cp1252 (undefined bytes as latin-1 C1 controls)."""
    text = raw.decode("utf-8", "surrogateescape")
    invalid = len(_ESCAPED_BYTE.findall(text))
    valid_non_ascii = len(text) - len(_NON_ASCII.sub("", text)) - invalid
    if valid_non_ascii >= _DAMAGED_UTF8_RATIO * invalid:
        _check_not_binary(raw, source, MAX_CONTROL_SHARE_LEGACY)
        plural = "byte that is" if invalid == 1 else "bytes that are"
        warning = f"{source}: dropped {invalid:,} {plural} not valid UTF-8 (the first at byte {bad}); the rest is UTF-8"
        return _ESCAPED_BYTE.sub("", text), warning
    _check_not_binary(raw, source, MAX_CONTROL_SHARE_LEGACY)
    text = raw.decode("cp1252", "surrogateescape")
    text = _ESCAPED_BYTE.sub(lambda m: chr(ord(m.group()) - 0xDC00), text)
    warning = (
        f"{source}: not valid UTF-8 (byte {bad}); decoded as cp1252 (Windows Western European). "
        "Convert it to UTF-8 if accents look wrong."
    )
    return text, warning


def decode_bytes(raw: bytes, source: str) -> tuple[str, str | None]:
    """The text of a corpus file, with universal newlines and no byte-order mark.

    Control characters are *not* dropped here (corpus loading drops and counts
    them once for the whole corpus). ``source`` names the file in messages.

    Returns:
        The text and a warning about its encoding (None for clean UTF-8 or a
        declared encoding).

    Raises:
        CorpusError: the bytes look like a binary file (see the module docstring).
    """
    source = terminal_safe(source, single_line=True)
    text = _decode_with_bom(raw, source)
    if text is not None:
        return _newlines(text), None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text, warning = _decode_legacy(raw, source, exc.start)
        return _newlines(text), warning
    _check_not_binary(raw, source, MAX_CONTROL_SHARE_UTF8)
    return _newlines(text), None


def sniff_binary(prefix: bytes, source: str) -> None:
    """Refuse a binary file from its first bytes, before a large one is read whole.

    ``prefix`` is cut at its last newline, so that a character split by the cut
    is not taken for a bad byte. A file that declares its encoding with a
    byte-order mark is left to :func:`decode_bytes`.

    Raises:
        CorpusError: the first bytes already look like a binary file.
    """
    if any(prefix.startswith(bom) for bom, _, _ in _BOMS):
        return
    cut = prefix.rfind(b"\n")
    decode_bytes(prefix[: cut + 1] if cut > 0 else prefix, source)
