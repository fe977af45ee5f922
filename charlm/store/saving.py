"""Saving a model so that it is never lost nor half-written, and repairing what a crash left.

A save builds the new folder beside its final place (``.tmp-NAME-*``, its
``config.json`` renamed in last, so a folder with one is complete), moves
the previous model aside (``.old-NAME-*``), renames the new one in, then
deletes the old one. A crash between any two steps leaves a complete copy,
and the next process that touches the name restores it (the newest complete
copy wins) instead of deleting it. Everything here runs with the name's lock
held (:mod:`charlm.store.locks`), so a clean-up never deletes the unfinished
folder of a live process.
"""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np

from charlm.errors import StoreError
from charlm.store import locks
from charlm.store.paths import (
    CONFIG_FILE,
    HISTORY_FILE,
    NAME_PATTERN,
    OLD,
    TEMP,
    TRASH,
    WEIGHTS_FILE,
    models_dir,
    validate_name,
)
from charlm.store.record import ModelRecord
from charlm.store.weights import check_arrays, weight_layout, write_weights

_PART = ".part"


def ensure_writable() -> Path:
    """Check, before any long work, that models can be saved; returns the models folder.

    Raises:
        StoreError: ``CHARLM_HOME`` is a file, the folder is read-only, the disk is full...
    """
    root = models_dir()
    probe = root / f"{TEMP}probe-{uuid.uuid4().hex[:8]}"
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
    for kind in (TEMP, OLD, TRASH):
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


def recover_locked(root: Path, name: str) -> None:
    """With ``name``'s lock held: restore the newest complete copy if the model is missing,
    then delete every leftover of that name (no live process is writing them)."""
    final = root / name
    found = _leftovers(root, name)
    if not final.exists():
        candidates = [p for kind, p in found if kind in (TEMP, OLD) and _complete(p)]
        if candidates:
            newest = max(candidates, key=lambda p: (p.name.startswith(TEMP), p.stat().st_mtime))
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
            recover_locked(root, name)
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
        if NAME_PATTERN.fullmatch(name):
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
            recover_locked(root, name)
            return _save_locked(root, name, record, weights)
        except OSError as exc:
            raise StoreError(f"cannot save model {name!r} in {root}: {exc.strerror or exc}") from None


def _save_locked(root: Path, name: str, record: ModelRecord, weights: dict[str, np.ndarray]) -> ModelRecord:
    tmp = root / f"{TEMP}{name}-{uuid.uuid4().hex[:8]}"
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
            old = root / f"{OLD}{name}-{uuid.uuid4().hex[:8]}"
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
