"""The model store: one folder per model under the user data dir, never lost, never half-written.

``CHARLM_HOME`` overrides the location (tests always set it). A model folder
holds ``config.json`` (our own strict JSON: configs, vocabulary, corpus,
metrics, history), ``weights.npz`` (plain arrays, never pickles) and
``history.csv``.

A save builds the new folder beside its final place (``.tmp-NAME-*``, its
``config.json`` renamed in last, so a folder with one is complete), moves
the previous model aside (``.old-NAME-*``), renames the new one in, then
deletes the old one. A crash between any two steps leaves a complete copy,
and the next process that touches the name restores it (the newest complete
copy wins) instead of deleting it. Everything that writes a name holds that
name's lock (:mod:`charlm.store.locks`), so a clean-up never deletes the
unfinished folder of a live process, and two trainings of one name cannot
silently replace each other.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from charlm import archs
from charlm.archs.base import ArchConfig, Layout
from charlm.config import ModelConfig
from charlm.errors import (
    CorruptModelError,
    InvalidNameError,
    ModelNotFoundError,
    StoreEmptyError,
    StoreError,
)
from charlm.store import locks
from charlm.store.record import FORMAT, CorpusInfo, EpochRecord, ModelRecord
from charlm.store.weights import check_arrays, layout_bytes, read_weights, write_weights

__all__ = [
    "BUILTIN_NAME", "FORMAT", "CorpusInfo", "EpochRecord", "ModelRecord", "StoreEntry", "builtin_record",
    "default_choice", "default_record", "ensure_writable", "hold", "home", "list_models", "load_record",
    "load_weights", "models_dir", "remove_model", "resolve", "save_model", "scan", "validate_name",
    "weight_layout",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
HISTORY_FILE = "history.csv"
BUILTIN_NAME = "default"
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "models" / BUILTIN_NAME
MAX_CONFIG_BYTES = 16 * 2**20
MAX_WEIGHTS_BYTES = 4 * 2**30
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_TEMP, _OLD, _TRASH = ".tmp-", ".old-", ".trash-"
_PART = ".part"
#: How long reading a name waits for another process that is saving it right now.
READ_WAIT = 10.0


def home() -> Path:
    """The charlm data folder (``CHARLM_HOME`` or the platform's user data dir)."""
    env = os.environ.get("CHARLM_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("charlm"))


def models_dir() -> Path:
    return home() / "models"


def validate_name(name: str) -> str:
    """Reject names that could escape the store or clash with the built-in model."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InvalidNameError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )
    if name == BUILTIN_NAME:
        raise InvalidNameError(f"the name {BUILTIN_NAME!r} is reserved for the built-in model")
    return name


def weight_layout(config: ModelConfig | ArchConfig, vocab_size: int) -> Layout:
    """The array names and shapes a config implies (the architecture's layout)."""
    arch = config.arch if isinstance(config, ModelConfig) else config
    return archs.of(arch).layout(arch, vocab_size)


def ensure_writable() -> Path:
    """Check, before any long work, that models can be saved; returns the models folder.

    Raises:
        StoreError: ``CHARLM_HOME`` is a file, the folder is read-only, the disk is full...
    """
    root = models_dir()
    probe = root / f"{_TEMP}probe-{uuid.uuid4().hex[:8]}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe.mkdir()
        _fsync_write(probe / "probe", b"ok")
    except OSError as exc:
        raise StoreError(f"cannot save models in {root}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return root


def hold(name: str, *, wait: float = 0.0, doing: str = "trained"):
    """Context manager: hold ``name``'s lock (training holds it from start to save).

    Raises:
        ModelBusyError: another process holds it; StoreError: the store is not writable.
    """
    return locks.name_lock(models_dir(), validate_name(name), wait=wait, doing=doing)


def _fault(point: str) -> None:
    """Fault injection for the crash tests: die here, as kill -9 would, when asked to."""
    if os.environ.get("CHARLM_FAULT") == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- leftovers of interrupted saves -----------------------------------------------------------

def _leftover_name(folder: str) -> tuple[str, str] | None:
    """(kind, model name) of a ``.tmp-NAME-xxxxxxxx`` / ``.old-`` / ``.trash-`` folder."""
    for kind in (_TEMP, _OLD, _TRASH):
        if folder.startswith(kind) and len(folder) > len(kind) + 9 and folder[-9] == "-":
            return kind, folder[len(kind):-9]
    return None


def _leftovers(root: Path, name: str) -> list[tuple[str, Path]]:
    out = []
    try:
        children = list(root.iterdir())
    except OSError:
        return out
    for child in children:
        parsed = _leftover_name(child.name)
        if parsed is not None and parsed[1] == name:
            out.append((parsed[0], child))
    return out


def _complete(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def _recover_locked(root: Path, name: str) -> None:
    """With ``name``'s lock held: restore the newest complete copy if the model is missing,
    then delete every leftover of that name (no live process is writing them)."""
    final = root / name
    found = _leftovers(root, name)
    if not final.exists():
        candidates = [p for kind, p in found if kind in (_TEMP, _OLD) and _complete(p)]
        if candidates:
            newest = max(candidates, key=lambda p: (p.name.startswith(_TEMP), p.stat().st_mtime))
            os.replace(newest, final)
            _fsync_dir(root)
    for _kind, path in found:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def recover(name: str, *, wait: float = 0.0) -> None:
    """Finish what a crashed save of ``name`` left (when no live process is saving it)."""
    root = models_dir()
    if not _leftovers(root, name):
        return
    try:
        with locks.name_lock(root, name, wait=wait):
            _recover_locked(root, name)
    except StoreError:
        pass  # busy or read-only: leave it to the process that can


def recover_all() -> None:
    """Recover every name with leftovers that no live process is writing."""
    root = models_dir()
    try:
        children = [c.name for c in root.iterdir()]
    except OSError:
        return
    for name in sorted({p[1] for c in children if (p := _leftover_name(c)) is not None}):
        if _NAME.fullmatch(name):
            recover(name)


# -- saving -------------------------------------------------------------------------------------

def save_model(name: str, record: ModelRecord, weights: dict[str, np.ndarray]) -> ModelRecord:
    """Write a model folder atomically, replacing any model of that name.

    Raises:
        InvalidNameError: the name is unusable.
        CorruptModelError: the weights do not match the config's layout.
        ModelBusyError: another process is writing that name.
        StoreError: the store cannot be written.
    """
    validate_name(name)
    check_arrays(weights, weight_layout(record.config, len(record.vocabulary)))
    ModelRecord.from_json(record.to_json(), name=name)  # never write a model this charlm cannot read
    root = models_dir()
    with locks.name_lock(root, name, doing="saved"):
        try:
            root.mkdir(parents=True, exist_ok=True)
            _recover_locked(root, name)
            return _save_locked(root, name, record, weights)
        except OSError as exc:
            raise StoreError(f"cannot save model {name!r} in {root}: {exc.strerror or exc}") from None


def _save_locked(root: Path, name: str, record: ModelRecord, weights: dict[str, np.ndarray]) -> ModelRecord:
    tmp = root / f"{_TEMP}{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _fsync_write(tmp / WEIGHTS_FILE, write_weights(weights))
        _fsync_write(tmp / HISTORY_FILE, record.history_csv().encode())
        _fsync_write(tmp / (CONFIG_FILE + _PART), record.to_json().encode())
        os.replace(tmp / (CONFIG_FILE + _PART), tmp / CONFIG_FILE)  # the folder is complete from here
        _fsync_dir(tmp)
        _fault("save:written")
        final = root / name
        old = None
        if final.exists():
            old = root / f"{_OLD}{name}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            _fault("save:moved-old")
        os.replace(tmp, final)
        _fsync_dir(root)
        _fault("save:moved-new")
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        if not (root / name).exists() and tmp.exists() and _complete(tmp):
            os.replace(tmp, root / name)  # never leave the name empty
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return replace(record, name=name, path=final, builtin=False)


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
        if not _NAME.fullmatch(child.name):
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
    with locks.name_lock(root, name, wait=READ_WAIT, doing="written"):
        _recover_locked(root, name)
        if not folder.is_dir():
            raise ModelNotFoundError(f"no model named {name!r}")
        trash = root / f"{_TRASH}{name}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(folder, trash)
        except OSError as exc:
            raise StoreError(f"cannot remove model {name!r}: {exc.strerror or exc}") from None
        shutil.rmtree(trash, ignore_errors=True)
    return folder
