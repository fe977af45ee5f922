"""A stored model's record: everything but its weights, read strictly from ``config.json``.

Every value read back is checked for type, finiteness and range before any
code uses it: a model folder someone edited, truncated or crafted is
reported as broken (``CorruptModelError`` naming the model and the value),
and never makes a listing, the app or another model's training crash.

Format 2 (this version) saves the architecture, training and normalisation
configs apart; format 1 (charlm 0.1) saved one flat config and still loads.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charlm import archs
from charlm.config import ModelConfig
from charlm.data.vocab import Vocabulary
from charlm.errors import CharlmError, ConfigError, CorruptModelError

FORMAT = 2
READABLE_FORMATS = (1, 2)
STATUSES = ("complete", "interrupted")
#: Why training ended, as `fit` records it.
STOP_REASONS = ("early-stop", "max-epochs", "time-limit", "interrupted", "diverged", "")
MAX_VOCABULARY = 200_000


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float  # NaN when the epoch diverged
    val_perplexity: float  # NaN when the epoch diverged
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

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "sources": list(self.sources)}


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
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    stop_reason: str = ""
    name: str = ""
    path: Path | None = None
    builtin: bool = False

    @property
    def arch(self) -> str:
        """The architecture's registry name ("lstm")."""
        return self.config.name

    @property
    def label(self) -> str:
        """Architecture and size, e.g. "LSTM 1×192"."""
        return self.config.label

    @property
    def params(self) -> int:
        return archs.of(self.config.arch).count_params(self.config.arch, len(self.vocabulary))

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
            "corpus": self.corpus.to_dict(),
            "metrics": {
                "val_perplexity": self.val_perplexity,
                "best_epoch": self.best_epoch,
                "epochs": len(self.history),
                "train_seconds": self.train_seconds,
                "params": self.params,
                "stop_reason": self.stop_reason,
            },
            "history": [{k: _finite_or_none(v) for k, v in e.__dict__.items()} for e in self.history],
            "versions": self.versions,
        }
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, *, name: str = "", path: Path | None = None) -> ModelRecord:
        """Read ``config.json`` strictly.

        Raises:
            CorruptModelError: naming the model and the first problem found.
        """
        who = f"model {name!r}" if name else f"model at {path}"
        try:
            data = json.loads(text, parse_constant=lambda token: math.nan)
            return cls._from_data(data, name=name, path=path)
        except json.JSONDecodeError as exc:
            raise CorruptModelError(f"{who}: config.json is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        except CorruptModelError as exc:
            raise CorruptModelError(f"{who}: {exc}") from None
        except (CharlmError, KeyError, TypeError, ValueError, AttributeError, IndexError,
                RecursionError) as exc:
            raise CorruptModelError(f"{who}: config.json is malformed ({_why(exc)})") from None

    @classmethod
    def _from_data(cls, data: Any, *, name: str, path: Path | None) -> ModelRecord:
        data = _object(data, "config.json")
        fmt = data.get("format")
        if fmt not in READABLE_FORMATS or isinstance(fmt, bool):
            raise CorruptModelError(f"unsupported model format {fmt!r} (this charlm reads {READABLE_FORMATS})")
        config = ModelConfig.from_dict(data["config"]) if fmt == 2 else ModelConfig.from_flat_v1(data["config"])
        vocabulary = Vocabulary.from_json(_object(data["vocabulary"], "vocabulary"))
        if len(vocabulary) > MAX_VOCABULARY:
            raise CorruptModelError(f"vocabulary has {len(vocabulary)} symbols (at most {MAX_VOCABULARY})")
        metrics = _object(data["metrics"], "metrics")
        ppl = _number(metrics["val_perplexity"], "val_perplexity", lo=1.0)
        status = _choice(data["status"], "status", STATUSES)
        return cls(
            config=config,
            vocabulary=vocabulary,
            corpus=_corpus(data["corpus"]),
            val_perplexity=ppl,
            best_epoch=_integer(metrics["best_epoch"], "best_epoch", lo=0),
            history=tuple(_epoch(e) for e in _list(data["history"], "history")),
            train_seconds=_number(metrics["train_seconds"], "train_seconds", lo=0.0),
            status=status,
            versions={_string(k, "versions"): _string(v, "versions") for k, v in
                      _object(data.get("versions", {}), "versions").items()},
            created=_string(data["created"], "created"),
            stop_reason=_choice(metrics.get("stop_reason", ""), "stop_reason", STOP_REASONS),
            name=name,
            path=path,
        )

    def history_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["epoch", "loss", "val_perplexity", "seconds"])
        for e in self.history:
            writer.writerow([e.epoch, f"{e.loss:.6f}", f"{e.val_perplexity:.6f}", f"{e.seconds:.3f}"])
        return out.getvalue()


def _why(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}" if exc.args else "missing key"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) or type(exc).__name__


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a JSON object (got {type(value).__name__})")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{what} must be a JSON list (got {type(value).__name__})")
    return value


def _string(value: Any, what: str, max_len: int = 10_000) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise ConfigError(f"{what} must be a string of at most {max_len} characters")
    return value


def _choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices or not isinstance(value, str):
        raise ConfigError(f"{what} must be one of {', '.join(c for c in choices if c)} (got {value!r})")
    return value


def _integer(value: Any, what: str, lo: int = 0, hi: int = 2**53) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise ConfigError(f"{what} must be an integer between {lo} and {hi} (got {value!r})")
    return value


def _number(value: Any, what: str, lo: float = 0.0, hi: float = 1e300, allow_nan: bool = False) -> float:
    if allow_nan and (value is None or (isinstance(value, float) and math.isnan(value))):
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number (got {type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(f"{what} must be a finite number between {lo:g} and {hi:g} (got {value!r})")
    return value


def _epoch(value: Any) -> EpochRecord:
    e = _object(value, "history entry")
    unknown = sorted(set(e) - {"epoch", "loss", "val_perplexity", "seconds"})
    if unknown:
        raise ConfigError(f"unknown history keys: {', '.join(map(str, unknown))}")
    return EpochRecord(
        epoch=_integer(e["epoch"], "history epoch", lo=1, hi=10**7),
        loss=_number(e["loss"], "history loss", lo=-1e300, allow_nan=True),
        val_perplexity=_number(e["val_perplexity"], "history val_perplexity", lo=0.0, allow_nan=True),
        seconds=_number(e["seconds"], "history seconds", lo=0.0),
    )


def _corpus(value: Any) -> CorpusInfo:
    c = _object(value, "corpus")
    unknown = sorted(set(c) - set(CorpusInfo.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"unknown corpus keys: {', '.join(map(str, unknown))}")
    # One character between documents, or none (byte-exact files are joined as they are).
    separator = _string(c.get("separator", "\n"), "corpus separator", max_len=1)
    return CorpusInfo(
        fingerprint=_string(c["fingerprint"], "corpus fingerprint", max_len=128),
        sources=tuple(_string(s, "corpus source") for s in _list(c["sources"], "corpus sources")[:10_000]),
        chars=_integer(c["chars"], "corpus chars"),
        documents=_integer(c["documents"], "corpus documents"),
        train_chars=_integer(c["train_chars"], "corpus train_chars"),
        val_chars=_integer(c["val_chars"], "corpus val_chars"),
        split_by=_string(c["split_by"], "corpus split_by", max_len=64),
        separator=separator,
    )
