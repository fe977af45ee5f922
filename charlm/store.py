"""The model store: one folder per model under the user data dir, written atomically.

``CHARLM_HOME`` overrides the location (tests always set it). A model folder
holds ``config.json`` (our own strict JSON: config, vocabulary, corpus,
metrics, history), ``weights.npz`` (plain arrays, never pickles) and
``history.csv``. Folders are built beside their final place and renamed in,
so a crash or Ctrl-C never leaves half a model visible.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from charlm.data.vocab import Vocabulary
from charlm.errors import (
    ConfigError,
    CorruptModelError,
    InvalidNameError,
    ModelNotFoundError,
    StoreEmptyError,
)
from charlm.layout import count_params, weight_layout
from charlm.trainer.config import ModelConfig

FORMAT = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
HISTORY_FILE = "history.csv"
BUILTIN_NAME = "default"
BUILTIN_DIR = Path(__file__).parent / "models" / BUILTIN_NAME
MAX_CONFIG_BYTES = 16 * 2**20
MAX_WEIGHTS_BYTES = 4 * 2**30
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_TEMP_PREFIX = ".tmp-"
_OLD_PREFIX = ".old-"


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
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidNameError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )
    if name == BUILTIN_NAME:
        raise InvalidNameError(f"the name {BUILTIN_NAME!r} is reserved for the built-in model")
    return name


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float
    val_perplexity: float
    seconds: float


@dataclass(frozen=True)
class CorpusInfo:
    fingerprint: str
    sources: tuple[str, ...]
    chars: int
    documents: int
    train_chars: int
    val_chars: int
    split_by: str
    separator: str = "\n"  # between documents in the training text


@dataclass(frozen=True)
class ModelRecord:
    """Everything known about a stored model except its weights."""

    config: ModelConfig
    vocabulary: Vocabulary
    corpus: CorpusInfo
    val_perplexity: float
    best_epoch: int
    history: tuple[EpochRecord, ...]
    train_seconds: float
    status: str = "complete"  # or "interrupted"
    versions: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    name: str = ""
    path: Path | None = None
    builtin: bool = False

    @property
    def params(self) -> int:
        return count_params(self.config, len(self.vocabulary))

    @property
    def bits_per_char(self) -> float:
        """The validation perplexity in bits per character (log2 of it)."""
        return math.log2(self.val_perplexity) if self.val_perplexity > 0 else math.nan

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "status": self.status,
            "created": self.created,
            "config": self.config.to_dict(),
            "vocabulary": self.vocabulary.to_json(),
            "corpus": {**self.corpus.__dict__, "sources": list(self.corpus.sources)},
            "metrics": {
                "val_perplexity": self.val_perplexity,
                "best_epoch": self.best_epoch,
                "epochs": len(self.history),
                "train_seconds": self.train_seconds,
                "params": self.params,
            },
            "history": [e.__dict__ for e in self.history],
            "versions": self.versions,
        }
        return json.dumps(data, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, *, name: str = "", path: Path | None = None) -> ModelRecord:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise CorruptModelError(f"unsupported model format {data.get('format')!r}")
            metrics = data["metrics"]
            corpus = data["corpus"]
            return cls(
                config=ModelConfig.from_dict(data["config"]),
                vocabulary=Vocabulary.from_json(data["vocabulary"]),
                corpus=CorpusInfo(**{**corpus, "sources": tuple(corpus["sources"])}),
                val_perplexity=float(metrics["val_perplexity"]),
                best_epoch=int(metrics["best_epoch"]),
                history=tuple(EpochRecord(**e) for e in data["history"]),
                train_seconds=float(metrics["train_seconds"]),
                status=str(data["status"]),
                versions=dict(data.get("versions", {})),
                created=str(data["created"]),
                name=name,
                path=path,
            )
        except CorruptModelError:
            raise
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
            raise CorruptModelError(f"model {name or path}: config.json is malformed ({exc})") from None

    def history_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["epoch", "loss", "val_perplexity", "seconds"])
        for e in self.history:
            writer.writerow([e.epoch, f"{e.loss:.6f}", f"{e.val_perplexity:.6f}", f"{e.seconds:.3f}"])
        return out.getvalue()


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def cleanup_temps(root: Path | None = None) -> None:
    """Remove folders left by a save that was killed half-way."""
    root = root or models_dir()
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name.startswith((_TEMP_PREFIX, _OLD_PREFIX)) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)


def save_model(name: str, record: ModelRecord, weights: dict[str, np.ndarray]) -> ModelRecord:
    """Write a model folder atomically, replacing any model of that name.

    Raises:
        InvalidNameError: the name is unusable.
        CorruptModelError: the weights do not match the config's layout.
    """
    validate_name(name)
    check_weights(record.config, len(record.vocabulary), weights)
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    cleanup_temps(root)
    tmp = root / f"{_TEMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        buf = io.BytesIO()
        np.savez(buf, **{k: np.asarray(v, dtype=np.float32) for k, v in weights.items()})
        _fsync_write(tmp / WEIGHTS_FILE, buf.getvalue())
        _fsync_write(tmp / HISTORY_FILE, record.history_csv().encode())
        _fsync_write(tmp / CONFIG_FILE, record.to_json().encode())
        final = root / name
        old = None
        if final.exists():
            old = root / f"{_OLD_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return replace(record, name=name, path=final, builtin=False)


def check_weights(config: ModelConfig, vocab_size: int, weights: dict[str, np.ndarray]) -> None:
    expected = weight_layout(config, vocab_size)
    if set(weights) != set(expected):
        missing = sorted(set(expected) - set(weights))
        extra = sorted(set(weights) - set(expected))
        raise CorruptModelError(f"weights do not match the config (missing {missing}, unexpected {extra})")
    for key, shape in expected.items():
        if tuple(weights[key].shape) != shape:
            raise CorruptModelError(f"weight {key} has shape {tuple(weights[key].shape)}, expected {shape}")


def _read_record(folder: Path, name: str, builtin: bool = False) -> ModelRecord:
    cfg = folder / CONFIG_FILE
    if not cfg.is_file():
        raise CorruptModelError(f"model {name!r}: {CONFIG_FILE} is missing")
    if cfg.stat().st_size > MAX_CONFIG_BYTES:
        raise CorruptModelError(f"model {name!r}: {CONFIG_FILE} is implausibly large")
    try:
        text = cfg.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptModelError(f"model {name!r}: cannot read {CONFIG_FILE} ({exc})") from None
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
        known = [r.name for r in list_models()]
        hint = (
            f" (known: {', '.join(known)})"
            if known
            else " (the store is empty; train one with `charlm-train fit CORPUS`)"
        )
        raise ModelNotFoundError(f"no model named {name!r}{hint}")
    return _read_record(folder, name)


def load_record_from_path(path: Path) -> ModelRecord:
    path = Path(path)
    if not path.is_dir():
        raise ModelNotFoundError(f"{path}: not a model folder")
    return _read_record(path, path.name)


def load_weights(record: ModelRecord) -> dict[str, np.ndarray]:
    """The model's arrays, checked against its config; never unpickles anything."""
    assert record.path is not None
    file = record.path / WEIGHTS_FILE
    if not file.is_file():
        raise CorruptModelError(f"model {record.name!r}: {WEIGHTS_FILE} is missing")
    if file.stat().st_size > MAX_WEIGHTS_BYTES:
        raise CorruptModelError(f"model {record.name!r}: {WEIGHTS_FILE} is implausibly large")
    try:
        with np.load(file, allow_pickle=False) as npz:
            weights = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptModelError(f"model {record.name!r}: cannot read weights ({exc})") from None
    for key, arr in weights.items():
        if arr.dtype.kind != "f":
            raise CorruptModelError(f"model {record.name!r}: weight {key} is not floating point")
        if not np.all(np.isfinite(arr)):
            raise CorruptModelError(f"model {record.name!r}: weight {key} has NaN or inf")
    check_weights(record.config, len(record.vocabulary), weights)
    return {k: v.astype(np.float32, copy=False) for k, v in weights.items()}


def list_models(include_builtin: bool = True) -> list[ModelRecord]:
    """User models, newest first, then the built-in one. Unreadable folders are skipped."""
    root = models_dir()
    records: list[ModelRecord] = []
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and not child.name.startswith("."):
                try:
                    records.append(_read_record(child, child.name))
                except CorruptModelError:
                    continue
    records.sort(key=lambda r: r.created, reverse=True)
    if include_builtin:
        builtin = builtin_record()
        if builtin is not None:
            records.append(builtin)
    return records


def default_record() -> ModelRecord:
    """The model used when none is named: the newest user model, else the built-in one."""
    records = list_models()
    if not records:
        raise StoreEmptyError(
            "no models yet: train one with `charlm-train fit CORPUS` "
            "(or reinstall charlm to get the built-in default model)"
        )
    return records[0]


def resolve(name_or_path: str | None) -> ModelRecord:
    """A model by name, by folder path, or (None) the default one."""
    if name_or_path is None:
        return default_record()
    if os.sep in name_or_path or name_or_path.startswith("."):
        if Path(name_or_path).is_dir():
            return load_record_from_path(Path(name_or_path))
    return load_record(name_or_path)


def remove_model(name: str) -> None:
    if name == BUILTIN_NAME:
        raise InvalidNameError("the built-in default model cannot be removed")
    record = load_record(name)
    assert record.path is not None
    trash = record.path.parent / f"{_OLD_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
    os.replace(record.path, trash)
    shutil.rmtree(trash, ignore_errors=True)
