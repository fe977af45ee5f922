"""Click options shared by `fit`, `compare` and `tune`, and their mapping to ModelConfig."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from charlm.trainer.config import ARCHS, OPTIMIZERS, ModelConfig

# option name -> (ModelConfig field, click kwargs)
_MODEL_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--units", "units", {"type": click.IntRange(1, 4096), "help": "Recurrent units per layer."}),
    ("--layers", "layers", {"type": click.IntRange(1, 8), "help": "Stacked recurrent layers."}),
    (
        "--dropout",
        "dropout",
        {"type": click.FloatRange(0.0, 1.0, max_open=True), "help": "Dropout after each recurrent layer."},
    ),
    (
        "--input-dropout",
        "input_dropout",
        {
            "type": click.FloatRange(0.0, 1.0, max_open=True),
            "help": "Drop whole input characters at random (regularisation).",
        },
    ),
    ("--embedding", "embedding", {"type": click.IntRange(1, 1024), "help": "Embedding size (default input)."}),
    (
        "--seq-length",
        "seq_length",
        {"type": click.IntRange(2, 10_000), "help": "Characters per training chunk (truncated BPTT length)."},
    ),
    ("--batch-size", "batch_size", {"type": click.IntRange(1, 4096), "help": "Chunks per batch."}),
    (
        "--epochs",
        "max_epochs",
        {"type": click.IntRange(1, 10_000), "help": "Maximum epochs (early stopping usually ends sooner)."},
    ),
    (
        "--patience",
        "patience",
        {
            "type": click.IntRange(0, 10_000),
            "help": "Epochs without a better validation perplexity before stopping (0 = never stop early).",
        },
    ),
    (
        "--optimizer",
        "optimizer",
        {"type": click.Choice(OPTIMIZERS), "help": "Optimizer (rmsprop, as in the seed study, or adam)."},
    ),
    ("--lr", "learning_rate", {"type": click.FloatRange(0.0, 1.0, min_open=True), "help": "Learning rate."}),
    (
        "--lr-decay",
        "lr_decay",
        {
            "type": click.FloatRange(0.0, 1.0, min_open=True),
            "help": "Multiply the learning rate by this after an epoch without improvement (1 = off).",
        },
    ),
    (
        "--ema",
        "ema",
        {
            "type": click.FloatRange(0.0, 1.0, max_open=True),
            "help": "Validate and keep an exponential moving average of the weights with this momentum (0 = off).",
        },
    ),
    ("--clipnorm", "clipnorm", {"type": click.FloatRange(0.0), "help": "Gradient norm clipping (0 = off)."}),
    (
        "--val-fraction",
        "val_fraction",
        {
            "type": click.FloatRange(0.0, 0.9, min_open=True, max_open=True),
            "help": "Fraction of the corpus (its tail) held out for validation.",
        },
    ),
    ("--seed", "seed", {"type": click.IntRange(0, 2**32 - 1), "help": "Random seed (same seed, same model)."}),
]


def model_options(with_arch: bool = True) -> Callable:
    """Decorate a command with every ModelConfig option (all default to the config's)."""

    def decorate(func: Callable) -> Callable:
        defaults = ModelConfig()
        for flag, field, kwargs in reversed(_MODEL_OPTIONS):
            func = click.option(flag, default=None, show_default=str(getattr(defaults, field)), **kwargs)(func)
        func = click.option(
            "--stateful/--no-stateful",
            default=None,
            help="Carry the recurrent state across consecutive batches (contiguous streams).",
        )(func)
        func = click.option(
            "--one-hot", is_flag=True, help="One-hot input instead of an embedding (as the seed study)."
        )(func)
        func = click.option("--no-lowercase", is_flag=True, help="Keep case (default: lower-case, as the seed study).")(
            func
        )
        if with_arch:
            func = click.option(
                "--arch",
                type=click.Choice(ARCHS),
                default=None,
                show_default=defaults.arch,
                help="rnn (Elman/SimpleRNN), lstm or gru.",
            )(func)
        return func

    return decorate


def config_from_options(options: dict[str, Any], base: ModelConfig | None = None) -> ModelConfig:
    """Build a ModelConfig from parsed options: only what the user gave overrides ``base``."""
    changes: dict[str, Any] = {}
    for flag, field, _kwargs in _MODEL_OPTIONS:
        value = options.get(flag.lstrip("-").replace("-", "_"))
        if value is not None:
            changes[field] = value
    if options.get("arch"):
        changes["arch"] = options["arch"]
    if options.get("one_hot"):
        if options.get("embedding"):
            raise click.UsageError("--one-hot and --embedding are mutually exclusive")
        changes["embedding"] = 0
    if options.get("stateful") is not None:
        changes["stateful"] = options["stateful"]
    if options.get("no_lowercase"):
        changes["lowercase"] = False
    return (base or ModelConfig()).replace(**changes)


def pop_model_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Remove the model options from a command's kwargs and return them."""
    names = [f.lstrip("-").replace("-", "_") for f, _, _ in _MODEL_OPTIONS] + [
        "arch",
        "one_hot",
        "no_lowercase",
        "stateful",
    ]
    return {n: kwargs.pop(n) for n in names if n in kwargs}
