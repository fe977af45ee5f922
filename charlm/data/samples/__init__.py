"""Sample corpora shipped with charlm (original texts, see the README for licence)."""

from __future__ import annotations

from pathlib import Path

from charlm.errors import CorpusError

SAMPLES_DIR = Path(__file__).parent


def list_samples() -> list[str]:
    return sorted(p.stem for p in SAMPLES_DIR.glob("*.srt"))


def sample_path(name: str) -> Path:
    """Path of the shipped sample corpus ``name``."""
    path = SAMPLES_DIR / f"{name}.srt"
    if name not in list_samples():
        known = ", ".join(list_samples()) or "none"
        raise CorpusError(f"no sample corpus named {name!r} (available: {known})")
    return path


def sample_label(source: str) -> str:
    """``sample:NAME`` for a shipped sample's path (stable across installs), else the source."""
    path = Path(source)
    if path.parent == SAMPLES_DIR and path.suffix == ".srt":
        return f"sample:{path.stem}"
    return source


#: What each shipped sample is, in a few words: the app says what a model trained on it writes.
DESCRIPTIONS = {
    "rioplatense": "Rioplatense Spanish dialogue",
}


def describe_source(source: str) -> str | None:
    """The description of a shipped sample given as ``sample:NAME`` (or its path); None otherwise."""
    label = sample_label(source)
    if label.startswith("sample:"):
        return DESCRIPTIONS.get(label[len("sample:"):])
    return None
