"""Shared fixtures: a private model store per test, tiny corpora, tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SUBJECTS = ["el pibe", "la mina", "mi vieja", "el tano", "marcos", "juan", "la tía"]
VERBS = ["tiene", "quiere", "vende", "compra", "busca", "trae"]
OBJECTS = ["la plata", "las estampillas", "un auto", "el vuelto", "dos cafés", "la guita"]
ENDINGS = [".", "...", "?", "!"]


def dialogue_lines(n: int, seed: int = 0) -> list[str]:
    """Simple, learnable Spanish-like lines (a tiny grammar, seeded)."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        end = str(rng.choice(ENDINGS))
        if end == "?":
            s = "¿" + s + "?"
        elif end == "!":
            s = "¡" + s + "!"
        else:
            s = s + end
        lines.append(s[0].upper() + s[1:] if s[0].isalpha() else s)
    return lines


def write_srt(path: Path, lines: list[str]) -> Path:
    blocks = []
    for i, line in enumerate(lines, 1):
        s = 2 * i
        blocks.append(f"{i}\n00:00:{s % 60:02d},000 --> 00:00:{(s + 1) % 60:02d},500\n{line}\n")
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def charlm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty model store."""
    home = tmp_path / "charlm-home"
    monkeypatch.setenv("CHARLM_HOME", str(home))
    return home


@pytest.fixture
def no_builtin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pretend the package ships no default model."""
    from charlm import store

    monkeypatch.setattr(store, "BUILTIN_DIR", tmp_path / "no-builtin")


@pytest.fixture
def tiny_srt(tmp_path: Path) -> Path:
    """About 5,000 characters of subtitles in 200 cues."""
    return write_srt(tmp_path / "tiny.srt", dialogue_lines(200))


def tiny_config(arch: str = "gru", **changes):
    """A ModelConfig from flat keyword changes (architecture fields and training fields mixed)."""
    from charlm import archs, spec
    from charlm.config import ModelConfig, TrainConfig
    from charlm.data.normalize import Normalization

    arch_cls = archs.get(arch).config_cls
    arch_fields = {k: v for k, v in changes.items() if k in spec.specs(arch_cls)}
    norm_fields = {k: v for k, v in changes.items() if k in ("lowercase", "nfc", "collapse_whitespace")}
    train_fields = {k: v for k, v in changes.items() if k not in arch_fields and k not in norm_fields}
    arch_config = arch_cls(**arch_fields)
    return ModelConfig(arch_config, TrainConfig.for_arch(arch_config, **train_fields), Normalization(**norm_fields))


def random_model(
    name: str,
    arch: str = "gru",
    *,
    text: str = "hola che, ¿qué tal?\n",
    scale: float = 0.5,
    seed: int = 0,
    **arch_fields,
):
    """Save a model with random weights straight into the store (no TensorFlow)."""
    from charlm import store
    from charlm.data.vocab import Vocabulary
    from charlm.store import CorpusInfo, EpochRecord, ModelRecord

    defaults = {"units": 8, "layers": 1, "embedding": 4} if arch in ("rnn", "lstm", "gru") else {}
    config = tiny_config(arch, **{**defaults, **arch_fields})
    vocab = Vocabulary.from_text(text)
    rng = np.random.default_rng(seed)
    layout = store.weight_layout(config, len(vocab))
    weights = {k: (rng.normal(size=s) * scale).astype(np.float32) for k, s in layout.items()}
    record = ModelRecord(
        config=config,
        vocabulary=vocab,
        corpus=CorpusInfo("0" * 16, ("test",), len(text), 1, len(text), 0, "characters"),
        val_perplexity=9.5,
        best_epoch=1,
        history=(EpochRecord(1, 2.0, 9.5, 0.1),),
        train_seconds=0.1,
    )
    return store.save_model(name, record, weights), weights
