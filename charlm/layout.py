"""The weight layout shared by the Keras builder, the store and the numpy runtime.

Weights are stored as named arrays (``embed.0``, ``rnn_0.1``...) in a plain
``.npz``; this module says which names and shapes a config implies, so a
file that does not match is rejected before any number is used.
"""

from __future__ import annotations

from charlm.trainer.config import ModelConfig

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def weight_layout(config: ModelConfig, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """Expected array names and shapes, in the order Keras ``get_weights`` returns them."""
    layout: dict[str, tuple[int, ...]] = {}
    width = vocab_size if config.one_hot else config.embedding
    layout["embed.0"] = (vocab_size, width)
    g = GATES[config.arch]
    u = config.units
    for i in range(config.layers):
        layout[f"rnn_{i}.0"] = (width, g * u)
        layout[f"rnn_{i}.1"] = (u, g * u)
        if config.arch == "gru" and config.reset_after:
            layout[f"rnn_{i}.2"] = (2, g * u)
        else:
            layout[f"rnn_{i}.2"] = (g * u,)
        width = u
    layout["logits.0"] = (u, vocab_size)
    layout["logits.1"] = (vocab_size,)
    return layout


def count_params(config: ModelConfig, vocab_size: int) -> int:
    """Trainable parameters (the one-hot identity matrix is not trained)."""
    total = 0
    for name, shape in weight_layout(config, vocab_size).items():
        if name == "embed.0" and config.one_hot:
            continue
        n = 1
        for d in shape:
            n *= d
        total += n
    return total
