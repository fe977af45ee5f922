"""The model store: one folder per model under the user data dir, never lost, never half-written.

``CHARLM_HOME`` overrides the location (tests always set it). A model folder
holds ``config.json`` (our own strict JSON: configs, vocabulary, corpus,
metrics, history), ``weights.npz`` (plain arrays, never pickles) and
``history.csv``.

Saves are atomic and survive crashes (:mod:`charlm.store.saving`); every
value read back is checked before it is used (:mod:`charlm.store.record`,
:mod:`charlm.store.weights`), and a broken folder is listed with its reason
rather than breaking the store (:func:`scan`). Names and paths:
:mod:`charlm.store.paths`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from charlm.errors import (
    CorruptModelError,
    InvalidNameError,
    ModelNotFoundError,
    StoreEmptyError,
    StoreError,
)
from charlm.store import locks
from charlm.store.paths import (
    BUILTIN_NAME,
    CONFIG_FILE,
    MAX_CONFIG_BYTES,
    MAX_WEIGHTS_BYTES,
    NAME_PATTERN,
    READ_WAIT,
    TRASH,
    WEIGHTS_FILE,
    home,
    models_dir,
    validate_name,
)
from charlm.store.record import FORMAT, CorpusInfo, EpochRecord, ModelRecord
from charlm.store.saving import ensure_writable, hold, recover, recover_all, recover_locked, save_model
from charlm.store.weights import layout_bytes, read_weights, weight_layout

__all__ = [
    "BUILTIN_NAME", "FORMAT", "CorpusInfo", "EpochRecord", "ModelRecord", "StoreEntry", "builtin_record",
    "default_choice", "default_record", "ensure_writable", "hold", "home", "list_models", "load_record",
    "load_weights", "models_dir", "recover", "recover_all", "remove_model", "resolve", "save_model", "scan",
    "validate_name",
    "weight_layout",
]

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "models" / BUILTIN_NAME

# -- reading ------------------------------------------------------------------------------------

def _read_record(folder: Path, name: str, builtin: bool = False) -> ModelRecord:
    who = f"model {name!r}"
    cfg = folder / CONFIG_FILE
    try:
        if not cfg.is_file():
            raise CorruptModelError(f"{who}: {CONFIG_FILE} is missing")
        if cfg.stat().st_size > MAX_CONFIG_BYTES:
            raise CorruptModelError(f"{who}: {CONFIG_FILE} is implausibly large")
        text = cfg.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptModelError(f"{who}: cannot read {CONFIG_FILE} ({exc})") from None
    record = ModelRecord.from_json(text, name=name, path=folder)
    return replace(record, builtin=builtin)


def builtin_record() -> ModelRecord | None:
    """The default model shipped with the package, if this install has it."""
    if not (BUILTIN_DIR / CONFIG_FILE).is_file():
        return None
    return _read_record(BUILTIN_DIR, BUILTIN_NAME, builtin=True)


def load_record(name: str) -> ModelRecord:
    """A stored model's record by name (``default`` is the built-in model).

    Raises:
        ModelNotFoundError, InvalidNameError, CorruptModelError.
    """
    if name == BUILTIN_NAME:
        record = builtin_record()
        if record is None:
            raise ModelNotFoundError("the built-in default model is not installed")
        return record
    validate_name(name)
    folder = models_dir() / name
    if not folder.is_dir():
        recover(name, wait=READ_WAIT)
    if not folder.is_dir():
        known = [e.name for e in scan(include_builtin=True)]
        hint = (f" (known: {', '.join(known)})" if known
                else " (the store is empty; train one with `charlm-train fit CORPUS`)")
        raise ModelNotFoundError(f"no model named {name!r}{hint}")
    return _read_record(folder, name)


def load_record_from_path(path: Path) -> ModelRecord:
    path = Path(path)
    if not path.is_dir():
        raise ModelNotFoundError(f"{path}: not a model folder")
    return _read_record(path, path.name)


def load_weights(record: ModelRecord) -> dict[str, np.ndarray]:
    """The model's arrays, checked against its config before anything is read; never unpickles."""
    who = f"model {record.name!r}"
    if record.path is None:
        raise CorruptModelError(f"{who}: it has no folder")
    layout = weight_layout(record.config, len(record.vocabulary))
    if layout_bytes(layout) > MAX_WEIGHTS_BYTES:
        raise CorruptModelError(f"{who}: its config asks for {layout_bytes(layout):,} bytes of weights")
    file = record.path / WEIGHTS_FILE
    try:
        if not file.is_file():
            raise CorruptModelError(f"{who}: {WEIGHTS_FILE} is missing")
        size = file.stat().st_size
    except OSError as exc:
        raise CorruptModelError(f"{who}: cannot read {WEIGHTS_FILE} ({exc.strerror})") from None
    if size > MAX_WEIGHTS_BYTES or size > 2 * layout_bytes(layout) + 2**20:
        raise CorruptModelError(f"{who}: {WEIGHTS_FILE} is {size:,} bytes, far more than its layout needs")
    return read_weights(file, layout, who)


@dataclass(frozen=True)
class StoreEntry:
    """One model folder: its record, or why it cannot be read."""

    name: str
    path: Path
    record: ModelRecord | None
    error: str = ""
    builtin: bool = False

    @property
    def broken(self) -> bool:
        return self.record is None


def scan(include_builtin: bool = True) -> list[StoreEntry]:
    """Every model folder, readable or not: user models newest first (broken ones after,
    by name), then the built-in one. Leftovers of crashed saves are recovered first."""
    root = models_dir()
    recover_all()
    good: list[StoreEntry] = []
    broken: list[StoreEntry] = []
    try:
        children = sorted(root.iterdir()) if root.is_dir() else []
    except OSError:
        children = []
    for child in children:
        if child.name.startswith(".") or not child.is_dir():
            continue
        if not NAME_PATTERN.fullmatch(child.name):
            continue  # not a name charlm could have written
        try:
            good.append(StoreEntry(child.name, child, _read_record(child, child.name)))
        except CorruptModelError as exc:
            broken.append(StoreEntry(child.name, child, None, str(exc)))
    good.sort(key=lambda e: e.record.created if e.record else "", reverse=True)
    entries = good + broken
    if include_builtin:
        try:
            record = builtin_record()
        except CorruptModelError as exc:
            entries.append(StoreEntry(BUILTIN_NAME, BUILTIN_DIR, None, str(exc), builtin=True))
        else:
            if record is not None:
                entries.append(StoreEntry(BUILTIN_NAME, BUILTIN_DIR, record, builtin=True))
    return entries


def list_models(include_builtin: bool = True) -> list[ModelRecord]:
    """Readable models: user models newest first, then the built-in one (see :func:`scan` for all)."""
    return [e.record for e in scan(include_builtin) if e.record is not None]


def default_choice() -> tuple[ModelRecord, list[StoreEntry]]:
    """The model used when none is named (the newest readable user model, else the built-in
    one) and the broken models skipped on the way, for the caller to warn about.

    Raises:
        StoreEmptyError: no readable model at all.
    """
    entries = scan()
    skipped: list[StoreEntry] = []
    for entry in entries:
        if entry.record is not None:
            return entry.record, skipped
        skipped.append(entry)
    hint = "; ".join(e.error for e in skipped[:3])
    raise StoreEmptyError(
        "no usable model: train one with `charlm-train fit CORPUS`"
        + (f" (broken: {hint})" if hint else " (or reinstall charlm to get the built-in default model)")
    )


def default_record() -> ModelRecord:
    """The model used when none is named: the newest readable user model, else the built-in one."""
    return default_choice()[0]


def resolve(name_or_path: str | None) -> ModelRecord:
    """A model by name, by folder path, or (None) the default one."""
    if name_or_path is None:
        return default_record()
    if os.sep in name_or_path or name_or_path.startswith("."):
        if Path(name_or_path).is_dir():
            return load_record_from_path(Path(name_or_path))
    return load_record(name_or_path)


def remove_model(name: str) -> Path:
    """Delete model ``name`` (readable or broken); returns the folder it was in.

    Raises:
        InvalidNameError: the built-in model or a bad name; ModelNotFoundError: no such model;
        ModelBusyError: another process is writing it.
    """
    if name == BUILTIN_NAME:
        raise InvalidNameError("the built-in default model cannot be removed")
    validate_name(name)
    root = models_dir()
    folder = root / name
    with locks.name_lock(root, name, wait=READ_WAIT, doing="written",
                         advice="remove it when that process has finished"):
        recover_locked(root, name)
        if not folder.is_dir():
            raise ModelNotFoundError(f"no model named {name!r}")
        trash = root / f"{TRASH}{name}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(folder, trash)
        except OSError as exc:
            raise StoreError(f"cannot remove model {name!r}: {exc.strerror or exc}") from None
        shutil.rmtree(trash, ignore_errors=True)
    return folder
