"""The architecture registry: every model family charlm can train, store and run.

Adding an architecture is one module (its config, weight layout, Keras
builder, numpy runtime and label; see :mod:`charlm.archs.base`), one line
here, and its tests. Nothing else in charlm branches on an architecture name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from charlm.archs.base import ArchConfig, Architecture
from charlm.archs.recurrent import GRU, LSTM, SIMPLE_RNN
from charlm.archs.transformer import TRANSFORMER
from charlm.errors import ConfigError

REGISTRY: dict[str, Architecture] = {a.name: a for a in (SIMPLE_RNN, LSTM, GRU, TRANSFORMER)}
#: The architectures of the seed study (what `compare` and `tune` use unless told otherwise).
SEED_ARCHS = ("rnn", "lstm", "gru")


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(name: str) -> Architecture:
    """The architecture called ``name``.

    Raises:
        ConfigError: no such architecture (the message lists the known ones).
    """
    arch = REGISTRY.get(name) if isinstance(name, str) else None
    if arch is None:
        raise ConfigError(f"arch must be one of {', '.join(REGISTRY)} (got {name!r})")
    return arch


def of(config: ArchConfig) -> Architecture:
    """The architecture a config belongs to."""
    return get(config.ARCH)


def config_from_dict(data: Any) -> ArchConfig:
    """An architecture config from its JSON object ``{"name": ..., fields...}``, strictly.

    Raises:
        ConfigError: not an object, unknown architecture, unknown keys, bad values.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"architecture config must be a JSON object (got {type(data).__name__})")
    fields = dict(data)
    arch = get(fields.pop("name", None))
    return arch.config_from_dict(fields)


__all__ = ["REGISTRY", "SEED_ARCHS", "ArchConfig", "Architecture", "config_from_dict", "get", "names", "of"]
