"""What every architecture provides, and the numpy pieces their runtimes share.

An architecture is one module (``charlm/archs/recurrent.py``,
``charlm/archs/transformer.py``) exposing :class:`Architecture` objects; the
registry in :mod:`charlm.archs` lists them. The store, the engine, the
trainer and the app ask the registry for an architecture's config class,
weight layout, Keras builder, numpy runtime and label, and branch on nothing.

A runtime is a batched step function with explicit state (``State``: a tuple
of arrays whose first axis is the batch, one row per beam), so decoding
strategies reorder beams with :func:`take` whatever the architecture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from charlm import spec
from charlm.errors import ConfigError

if TYPE_CHECKING:
    import keras

State = tuple[np.ndarray, ...]
Layout = dict[str, tuple[int, ...]]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def take(state: State, rows: np.ndarray | Sequence[int]) -> State:
    """Select/reorder/repeat batch rows of a state (beam bookkeeping)."""
    idx = np.asarray(rows, dtype=np.intp)
    return tuple(s[idx] for s in state)


@dataclass(frozen=True)
class ArchConfig:
    """Base of every architecture's config: frozen, its fields declared with :func:`charlm.spec.setting`.

    ``ARCH`` names the architecture in the registry.
    """

    ARCH: ClassVar[str] = ""

    def __post_init__(self) -> None:
        spec.validate(self)
        self.check()

    def check(self) -> None:
        """Constraints between fields (a single field's range is in its Spec)."""

    @property
    def arch(self) -> str:
        return self.ARCH

    def train_defaults(self) -> dict[str, Any]:
        """Training settings this architecture starts from when the user gives none
        (a Transformer wants AdamW at 1e-3 and chunks as long as its context; a
        recurrent net RMSprop at 1e-2)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.ARCH, **spec.to_mapping(self)}

    def replace(self, **changes: Any) -> ArchConfig:
        from dataclasses import replace

        return replace(self, **changes)


class Runtime(Protocol):
    """A trained model as a batched step function, in numpy (see ``engine.step.StepModel``)."""

    vocab_size: int

    def initial_state(self, batch: int = 1) -> State: ...

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]: ...

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]: ...

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]: ...


class StepwiseReference:
    """``run`` and ``start`` made of ``step`` calls: what the Keras reference runtimes share.

    Slow on purpose (one call per character): they exist to check the numpy runtimes.
    """

    vocab_size: int

    def initial_state(self, batch: int = 1) -> State:
        raise NotImplementedError

    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        raise NotImplementedError

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]:
        state = state if state is not None else self.initial_state(1)
        out = []
        for i in np.asarray(ids, dtype=np.int32).reshape(-1):
            state, lp = self.step(state, np.array([i]))
            out.append(lp[0])
        return state, np.stack(out) if out else np.zeros((0, self.vocab_size), np.float32)

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        if len(prompt_ids) == 0:
            raise ValueError("start() needs at least one id")
        state, logprobs = self.run(prompt_ids)
        return state, logprobs[-1]


class Architecture:
    """One registry entry: everything charlm needs to know about an architecture.

    Subclasses set ``name``, ``title`` and ``config_cls`` and implement the
    methods; keep Keras imports inside the methods, so reading a model and
    generating never import TensorFlow.
    """

    name: str = ""
    title: str = ""  # "LSTM": how tables and the app name it
    config_cls: type[ArchConfig] = ArchConfig
    summary: str = ""  # one line for --help

    def config(self, **values: Any) -> ArchConfig:
        return self.config_cls(**values)

    def config_from_dict(self, data: Mapping[str, Any]) -> ArchConfig:
        """Strict reading of the JSON object saved beside the weights (without its ``name``)."""
        return spec.from_mapping(self.config_cls, data, what=f"{self.name} config")

    def label(self, config: ArchConfig) -> str:
        """Short human name with the size, e.g. "LSTM 1×192"."""
        raise NotImplementedError

    def describe(self, config: ArchConfig) -> str:
        """The architecture in a sentence, for `show` and the app's model info."""
        return self.label(config)

    def layout(self, config: ArchConfig, vocab_size: int) -> Layout:
        """Array names and shapes of the weights, in the order Keras ``get_weights`` returns them."""
        raise NotImplementedError

    def frozen_weights(self, config: ArchConfig) -> tuple[str, ...]:
        """Names in the layout that are not trained (not counted as parameters)."""
        return ()

    def count_params(self, config: ArchConfig, vocab_size: int) -> int:
        frozen = set(self.frozen_weights(config))
        return sum(int(np.prod(shape)) for name, shape in self.layout(config, vocab_size).items()
                   if name not in frozen)

    def build_keras(self, config: ArchConfig, vocab_size: int, *, stateful_batch: int | None = None
                    ) -> keras.Model:
        """The training model: int ids (batch, time) -> logits (batch, time, vocab).

        ``stateful_batch``: build a stateful model of that fixed batch size
        (carried-state training); only recurrent architectures support it.
        """
        raise NotImplementedError

    def runtime(self, config: ArchConfig, weights: Mapping[str, np.ndarray]) -> Runtime:
        """The numpy step-wise runtime of these weights."""
        raise NotImplementedError

    def keras_runtime(self, config: ArchConfig, weights: Mapping[str, np.ndarray]) -> Runtime:
        """The same step interface on Keras (a reference for parity; imports TensorFlow)."""
        raise NotImplementedError

    def search_space(self, hp: Any) -> dict[str, Any]:
        """Declare this architecture's hyper-parameters on a keras-tuner ``HyperParameters``
        (conditioned on the architecture); returns ArchConfig field values."""
        return {}

    def check_training(self, config: ArchConfig, training: Any) -> None:
        """Reject training settings this architecture cannot use (ConfigError naming the option)."""
        if training.stateful:
            raise ConfigError(f"--stateful needs a recurrent architecture (not {self.name})")


def check_divisible(value: int, by: int, what: str) -> None:
    if value % by:
        raise ConfigError(what)


# -- Keras helpers shared by every architecture (no Keras import needed) -----------------

def get_named_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Weights keyed ``layer.index`` for every layer that has weights.

    Nested layers (a Transformer block) are addressed by their own unique
    names, since ``model.layers`` lists only the top level.
    """
    out: dict[str, np.ndarray] = {}
    for layer in _weighted_layers(model):
        for i, w in enumerate(layer.get_weights()):
            out[f"{layer.name}.{i}"] = np.asarray(w, dtype=np.float32)
    return out


def set_named_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Inverse of :func:`get_named_weights`; shapes were checked by the store."""
    for layer in _weighted_layers(model):
        current = layer.get_weights()
        if current:
            layer.set_weights([weights[f"{layer.name}.{i}"] for i in range(len(current))])


def _weighted_layers(model: keras.Model) -> list:
    """Layers that own weights directly, in model order (sub-layers of a container included)."""
    out = []
    for layer in model.layers:
        inner = getattr(layer, "weight_layers", None)
        out.extend(inner() if callable(inner) else [layer])
    return out
