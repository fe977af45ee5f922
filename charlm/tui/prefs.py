"""What the app remembers between launches: decoding and view settings, and prompt history.

Both live in the user config dir (``platformdirs.user_config_dir("charlm")``),
or in ``$CHARLM_HOME/config`` when ``CHARLM_HOME`` is set, so tests (which
always set it) never touch a real home. Files are read strictly through the
settings' :class:`~charlm.spec.Spec` declarations: a bad value is dropped
with a warning, never a crash, and files are replaced atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charlm import spec
from charlm.engine.settings import DecodeSettings
from charlm.errors import ConfigError
from charlm.spec import Spec, parse_json, setting

SETTINGS_FILE = "settings.json"
HISTORY_FILE = "history.json"
#: Prompts kept in the history (oldest dropped first).
HISTORY_MAX = 500


@dataclass(frozen=True)
class ViewSettings:
    """How the app shows a completion and what it suggests as you type (not how it decodes)."""

    pace: int = setting(0, Spec(
        int, 0, 10_000, label="pace",
        help="Characters shown per second (0 = as fast as the model goes).",
        ladder=(0, 5, 10, 20, 30, 60, 100, 200, 500, 1000)))
    confidence: bool = setting(False, Spec(bool, label="colour",
                                           help="Colour generated text by the model's confidence."))
    suggest: bool = setting(True, Spec(bool, label="suggest",
                                       help="Show the model's continuation after the cursor as you type."))
    suggest_length: int = setting(40, Spec(
        int, 5, 200, label="suggestion length",
        help="The longest suggestion, in characters (it ends at a whole word when it can).",
        ladder=(10, 20, 30, 40, 60, 80, 120, 200)))

    def __post_init__(self) -> None:
        spec.validate(self)


def config_dir() -> Path:
    """Where the app keeps its settings (``$CHARLM_HOME/config`` or the user config dir)."""
    home = os.environ.get("CHARLM_HOME")
    if home:
        return Path(home) / "config"
    from platformdirs import user_config_dir

    return Path(user_config_dir("charlm"))


#: Saved settings and history are small; anything larger was not written by charlm.
MAX_FILE_BYTES = 16 * 2**20


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path.name} is larger than {MAX_FILE_BYTES:,} bytes")
        return parse_json(path.read_bytes(), path.name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path.name} could not be read ({exc.__class__.__name__})") from None


def _write_json(path: Path, data: Any) -> None:
    """Write beside and rename in, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _lenient(cls: type, data: Any, what: str, warnings: list[str]) -> Any:
    """``cls`` from a JSON object, keeping every valid key and warning about the others."""
    if data is None:
        return cls()
    try:
        return spec.from_mapping(cls, data, what=what)
    except ConfigError as exc:
        warnings.append(str(exc))
    if not isinstance(data, dict):
        return cls()
    declared = spec.specs(cls)
    good = {}
    for key, value in data.items():
        if key in declared:
            try:
                good[key] = declared[key].coerce(value, key)
            except ConfigError:
                continue
    try:
        return cls(**good)
    except ConfigError:
        return cls()


@dataclass(frozen=True)
class Saved:
    """The saved settings, and what was wrong with the file (empty if nothing)."""

    decode: DecodeSettings
    view: ViewSettings
    warnings: tuple[str, ...] = ()


def load_settings() -> Saved:
    """The saved settings, defaults for anything missing or invalid (never raises)."""
    warnings: list[str] = []
    try:
        data = _read_json(config_dir() / SETTINGS_FILE)
    except ConfigError as exc:
        return Saved(DecodeSettings(), ViewSettings(), (str(exc),))
    if data is not None and not isinstance(data, dict):
        return Saved(DecodeSettings(), ViewSettings(), ("saved settings are not a JSON object",))
    data = data or {}
    unknown = sorted(set(data) - {"decode", "view"})
    if unknown:
        warnings.append(f"unknown saved settings: {', '.join(unknown)}")
    decode = _lenient(DecodeSettings, data.get("decode"), "decoding settings", warnings)
    view = _lenient(ViewSettings, data.get("view"), "view settings", warnings)
    return Saved(decode, view, tuple(warnings))


def save_settings(decode: DecodeSettings, view: ViewSettings) -> None:
    """Save both (raises OSError when the config dir cannot be written)."""
    _write_json(config_dir() / SETTINGS_FILE, {"decode": decode.to_dict(), "view": spec.to_mapping(view)})


def load_history() -> list[str]:
    """Saved prompts, oldest first (empty when missing or unreadable)."""
    try:
        data = _read_json(config_dir() / HISTORY_FILE)
    except ConfigError:
        return []
    if not isinstance(data, list):
        return []
    return [p for p in data if isinstance(p, str) and p][-HISTORY_MAX:]


def save_history(prompts: list[str]) -> None:
    _write_json(config_dir() / HISTORY_FILE, prompts[-HISTORY_MAX:])
