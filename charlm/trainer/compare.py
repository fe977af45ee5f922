"""Train every architecture on the same corpus, split and budget, and compare them.

The seed study compared SimpleRNN, LSTM and GRU on a validation set that
shared 99 of 100 characters with the training windows. Here each model goes
through the ordinary :func:`charlm.trainer.fit.fit` (leak-free tail, exact
perplexity, early stopping, the same budget) with the options the user gave
applied to every architecture that has them, so the rows differ only in the
architecture (and the training defaults that architecture starts from). Each model is stored as
``<base>-<arch>``; an identical model already in the store is reused, as
``fit`` does.

:func:`compare` is a generator: it forwards every fit event (so a CLI can draw
progress bars) and adds its own. Ctrl-C (KeyboardInterrupt thrown in with
``generator.throw``) reaches the running ``fit``, which keeps its best model;
the comparison then ends with the rows finished so far.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from charlm import archs as registry
from charlm.config import ModelConfig
from charlm.data.corpus import Corpus
from charlm.data.split import split_corpus
from charlm.engine.modes import MODES
from charlm.engine.settings import DecodeSettings
from charlm.errors import ConfigError
from charlm.store import ModelRecord
from charlm.trainer.fit import FitEvent, FitFinished, fit

DEFAULT_LENGTH = 60
PROMPT_CHARS = 20


@dataclass(frozen=True)
class ArchStarted:
    arch: str
    name: str
    index: int  # 1-based
    total: int


@dataclass(frozen=True)
class CompareRow:
    """One architecture's result: metrics of the kept weights and a completion per mode."""

    record: ModelRecord
    reason: str  # the fit's: early-stop, max-epochs, cached, interrupted, diverged
    prompt: str
    completions: dict[str, str] = field(default_factory=dict)

    @property
    def arch(self) -> str:
        return self.record.arch

    @property
    def bits_per_char(self) -> float:
        return self.record.bits_per_char

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `compare --json` prints per architecture."""
        from charlm.trainer.render import record_summary

        out = record_summary(self.record)
        out.update(reason=self.reason, prompt=self.prompt, completions=dict(self.completions))
        return out


@dataclass(frozen=True)
class ArchCompared:
    row: CompareRow


@dataclass(frozen=True)
class CompareFinished:
    rows: tuple[CompareRow, ...]
    interrupted: bool


CompareEvent = ArchStarted | ArchCompared | CompareFinished | FitEvent


def parse_archs(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"rnn,lstm,gru"`` -> ``("rnn", "lstm", "gru")``; order kept, duplicates dropped.

    Raises:
        ConfigError: an unknown or empty architecture list.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    archs: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if item not in registry.REGISTRY:
            known = ", ".join(registry.names())
            raise ConfigError(f"unknown architecture {item!r} in --archs (choose from {known})")
        if item not in archs:
            archs.append(item)
    if not archs:
        raise ConfigError(f"--archs needs at least one of {', '.join(registry.names())}")
    return tuple(archs)


def model_names(base: str, archs: Sequence[str]) -> dict[str, str]:
    """``<base>-<arch>`` for each architecture, validated before any training starts."""
    from charlm.store import validate_name

    return {arch: validate_name(f"{base}-{arch}") for arch in archs}


def default_prompt(corpus: Corpus, config: ModelConfig) -> str:
    """The first words (up to 20 characters) of the validation text.

    Held-out text, so every model continues something it never trained on, and
    it suits any corpus language. Cut back to a word boundary so the models are
    not asked to finish a word chopped in half.
    """
    val = split_corpus(corpus, config.training.val_fraction, min_train_chars=1).val
    head = val.lstrip()[: PROMPT_CHARS + 1].split("\n")[0]
    if len(head) > PROMPT_CHARS:
        cut = head[:PROMPT_CHARS].rfind(" ")
        head = head[: cut + 1] if cut > 0 else head[:PROMPT_CHARS]
    return head


def completions(name: str, prompt: str, length: int, seed: int) -> dict[str, str]:
    """One completion per decoding mode, each with the same fixed seed."""
    from charlm.engine import Engine

    engine = Engine.load(name)
    return {mode: engine.generate(prompt, DecodeSettings(mode=mode, length=length, seed=seed)).text for mode in MODES}


def compare(
    corpus: Corpus,
    configs: Sequence[ModelConfig],
    base: str,
    *,
    prompt: str | None = None,
    length: int = DEFAULT_LENGTH,
    force: bool = False,
    cluster=None,
) -> Iterator[CompareEvent]:
    """Fit each config (one per architecture) and compare the results.

    Yields ``ArchStarted``, that fit's events, ``ArchCompared`` per
    architecture, then one ``CompareFinished``. Completions use each
    config's training seed. With a multi-worker ``cluster`` every fit is
    data-parallel over the workers; the architectures run one after the other
    (each needs all workers), and only the chief compares (other workers
    finish with no rows).

    Raises:
        ConfigError, InvalidNameError, CorpusError: as ``fit`` does, before any training
        when the names or the corpus are unusable.
    """
    archs = parse_archs([c.name for c in configs])
    if len(archs) != len(configs):
        raise ConfigError("compare needs one config per architecture")
    names = model_names(base, archs)
    if length < 0 or length > 100_000:
        raise ConfigError(f"length must be between 0 and 100000 (got {length})")
    if prompt is None:
        prompt = default_prompt(corpus, configs[0])
    rows: list[CompareRow] = []
    try:
        for i, config in enumerate(configs, 1):
            arch = config.name
            yield ArchStarted(arch, names[arch], i, len(archs))
            finished = yield from _relay(fit(corpus, config, names[arch], force=force, cluster=cluster))
            if cluster is not None and not cluster.is_chief:
                continue
            if not isinstance(finished, FitFinished) or finished.record is None:
                break
            interrupted = finished.reason == "interrupted"
            texts = {} if interrupted else completions(names[arch], prompt, length, config.training.seed)
            row = CompareRow(finished.record, finished.reason, prompt, texts)
            rows.append(row)
            yield ArchCompared(row)
            if interrupted:
                break
    except KeyboardInterrupt:
        yield CompareFinished(tuple(rows), interrupted=True)
        return
    worker = cluster is not None and not cluster.is_chief
    done = worker or (len(rows) == len(archs) and all(r.reason != "interrupted" for r in rows))
    yield CompareFinished(tuple(rows), interrupted=not done)


def _relay(events: Iterator[FitEvent]) -> Iterator[FitEvent]:
    """``yield from events`` that also returns the last event, and hands Ctrl-C to ``fit``.

    A KeyboardInterrupt thrown in while a fit event is out is thrown into the
    fit generator, which saves its best weights and yields its final event.
    """
    last = None
    try:
        event = next(events)
    except StopIteration:
        return None
    while True:
        last = event
        try:
            try:
                yield event
            except KeyboardInterrupt:
                event = events.throw(KeyboardInterrupt())
            else:
                event = next(events)
        except StopIteration:
            return last
