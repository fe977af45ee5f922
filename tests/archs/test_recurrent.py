"""SimpleRNN, LSTM, GRU: the numpy runtime gives Keras's log-probabilities, layouts match Keras."""

from __future__ import annotations

import numpy as np
import pytest

from charlm import archs
from charlm.archs.base import get_named_weights, log_softmax, set_named_weights

V = 23
CASES = [
    ("rnn", dict(units=24, layers=2, embedding=8)),
    ("lstm", dict(units=24, layers=2, embedding=8)),
    ("gru", dict(units=24, layers=2, embedding=8, reset_after=True)),
    ("gru", dict(units=24, layers=2, embedding=8, reset_after=False)),
    ("lstm", dict(units=16, layers=1, embedding=0)),
]
IDS = [f"{a}-" + "-".join(f"{k}{v}" for k, v in kw.items()) for a, kw in CASES]


def weights_for(arch, config, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = {k: (rng.normal(size=s) * 0.3).astype(np.float32) for k, s in arch.layout(config, V).items()}
    if config.one_hot:
        w["embed.0"] = np.eye(V, dtype=np.float32)
    return w


@pytest.mark.parametrize(("name", "fields"), CASES, ids=IDS)
def test_numpy_and_keras_agree_over_200_steps(name, fields):
    arch = archs.get(name)
    config = arch.config(**fields)
    weights = weights_for(arch, config)
    rng = np.random.default_rng(1)
    prompt = rng.integers(0, V, size=12)
    numpy_rt, keras_rt = arch.runtime(config, weights), arch.keras_runtime(config, weights)

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


@pytest.mark.parametrize(("name", "fields"), CASES[:4], ids=IDS[:4])
def test_whole_sequence_run_equals_the_training_model(name, fields):
    arch = archs.get(name)
    config = arch.config(**fields)
    weights = weights_for(arch, config, seed=2)
    model = arch.build_keras(config, V)
    assert {k: v.shape for k, v in get_named_weights(model).items()} == arch.layout(config, V)
    set_named_weights(model, weights)
    ids = np.random.default_rng(3).integers(0, V, size=150)
    expected = log_softmax(np.asarray(model(ids[None].astype("int32"), training=False))[0])
    _, got = arch.runtime(config, weights).run(ids)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_reading_a_long_prompt_in_chunks_is_one_pass():
    from charlm.archs import recurrent

    arch = archs.get("lstm")
    config = arch.config(units=8, embedding=4)
    runtime = arch.runtime(config, weights_for(arch, config))
    ids = np.random.default_rng(4).integers(0, V, size=3 * recurrent.READ_CHUNK + 17)
    state, last = runtime.start(ids)
    full_state, full = runtime.run(ids)
    np.testing.assert_allclose(last, full[-1], atol=1e-5)
    for a, b in zip(state, full_state, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_labels_layouts_and_parameter_counts(name):
    arch = archs.get(name)
    config = arch.config(units=10, layers=2, embedding=0)
    assert arch.label(config) == f"{arch.title} 2×10"
    layout = arch.layout(config, V)
    assert layout["embed.0"] == (V, V) and layout["logits.0"] == (10, V)
    trained = sum(int(np.prod(s)) for k, s in layout.items() if k != "embed.0")
    assert arch.count_params(config, V) == trained  # the one-hot identity is not trained
