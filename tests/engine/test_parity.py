"""The numpy runtime gives Keras's log-probabilities for every architecture."""

from __future__ import annotations

import numpy as np
import pytest

from charlm.engine.keras_backend import KerasRuntime
from charlm.engine.runtime import NumpyRuntime
from charlm.engine.step import log_softmax
from charlm.layout import weight_layout
from charlm.trainer.config import ModelConfig

V = 23
CASES = [
    ModelConfig(arch="rnn", units=24, layers=2, embedding=8),
    ModelConfig(arch="lstm", units=24, layers=2, embedding=8),
    ModelConfig(arch="gru", units=24, layers=2, embedding=8, reset_after=True),
    ModelConfig(arch="gru", units=24, layers=2, embedding=8, reset_after=False),
    ModelConfig(arch="lstm", units=16, layers=1, embedding=0),
]


def weights_for(config: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = {k: (rng.normal(size=s) * 0.3).astype(np.float32) for k, s in weight_layout(config, V).items()}
    if config.one_hot:
        w["embed.0"] = np.eye(V, dtype=np.float32)
    return w


@pytest.mark.parametrize(
    "config", CASES, ids=lambda c: f"{c.arch}-{c.layers}x{c.units}-ra{c.reset_after}-emb{c.embedding}"
)
def test_numpy_and_keras_agree_over_200_steps(config):
    weights = weights_for(config)
    rng = np.random.default_rng(1)
    prompt = rng.integers(0, V, size=12)
    numpy_rt, keras_rt = NumpyRuntime(config, weights), KerasRuntime(config, weights)

    s_np, lp_np = numpy_rt.start(prompt)
    s_k, lp_k = keras_rt.start(prompt)
    worst = np.abs(lp_np - lp_k).max()
    batch = 3  # several beams at once, as decoding uses it
    s_np, s_k = tuple(np.repeat(s, batch, 0) for s in s_np), tuple(np.repeat(s, batch, 0) for s in s_k)
    for _ in range(200):
        ids = rng.integers(0, V, size=batch)
        s_np, lp_np = numpy_rt.step(s_np, ids)
        s_k, lp_k = keras_rt.step(s_k, ids)
        worst = max(worst, np.abs(lp_np - lp_k).max())
    assert worst <= 1e-4


@pytest.mark.parametrize("config", CASES[:4], ids=lambda c: f"{c.arch}-ra{c.reset_after}")
def test_whole_sequence_run_equals_the_training_model(config):
    from charlm.trainer.model import build_model, set_named_weights

    weights = weights_for(config, seed=2)
    model = build_model(config, V)
    set_named_weights(model, weights)
    ids = np.random.default_rng(3).integers(0, V, size=150)
    expected = log_softmax(np.asarray(model(ids[None].astype("int32"), training=False))[0])
    _, got = NumpyRuntime(config, weights).run(ids)
    np.testing.assert_allclose(got, expected, atol=1e-4)
