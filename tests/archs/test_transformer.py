"""The Transformer: layout, configuration, and a numpy KV-cache runtime that gives the Keras
model's log-probabilities on exactly the window its sliding-window policy holds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charlm import archs
from charlm.archs.base import get_named_weights, log_softmax, set_named_weights, take
from charlm.archs.transformer import kept_after_slide
from charlm.config import ModelConfig, TrainConfig
from charlm.errors import ConfigError

V = 23
ARCH = archs.get("transformer")
TINY = dict(layers=2, heads=2, embedding=16, block_size=16)


def weights_for(config, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: (rng.normal(size=s) * 0.3).astype(np.float32) for k, s in ARCH.layout(config, V).items()}


def policy_window(history: list[int], block: int) -> list[int]:
    """The documented policy, written out: a full window keeps its last block//2 ids, then appends."""
    window: list[int] = []
    for i in history:
        if len(window) == block:
            window = window[-(block // 2) :]
        window.append(i)
    return window


@pytest.fixture(scope="module")
def tiny():
    """A tiny config, random weights, and the Keras training model holding them."""
    config = ARCH.config(**TINY)
    weights = weights_for(config)
    model = ARCH.build_keras(config, V)
    set_named_weights(model, weights)
    return config, weights, model


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_layout_is_what_keras_builds_in_order(positions):
    config = ARCH.config(**TINY, positions=positions)
    built = [(k, v.shape) for k, v in get_named_weights(ARCH.build_keras(config, V)).items()]
    assert built == list(ARCH.layout(config, V).items())
    assert ("pos.0" in dict(built)) == (positions == "learned")


def test_numpy_steps_match_keras_on_the_policy_window_over_200_steps(tiny):
    config, weights, model = tiny
    rng = np.random.default_rng(1)
    runtime = ARCH.runtime(config, weights)
    prompt = list(rng.integers(0, V, size=5))
    state, _ = runtime.start(prompt)
    state = take(state, [0, 0, 0])  # three beams, as decoding steps them
    history, windows, got = [prompt] * 3, [], []
    for _ in range(200):
        ids = rng.integers(0, V, size=3)
        state, lp = runtime.step(state, ids)
        history = [h + [int(i)] for h, i in zip(history, ids, strict=True)]
        windows.extend(policy_window(h, config.block_size) for h in history)
        got.extend(lp)
    # The training model on each window (those of one length in one call): its last position.
    worst, lengths = 0.0, {len(w) for w in windows[3 * (config.block_size - 5) :]}
    for n in {len(w) for w in windows}:
        rows = [i for i, w in enumerate(windows) if len(w) == n]
        batch = np.array([windows[i] for i in rows], dtype=np.int32)
        expected = log_softmax(np.asarray(model(batch, training=False))[:, -1])
        worst = max(worst, float(np.abs(np.stack([got[i] for i in rows]) - expected).max()))
    assert worst <= 1e-4
    assert lengths == set(range(9, 17))  # after the first block: between block//2 + 1 and block ids


def test_run_reads_exactly_what_repeated_steps_read(tiny):
    config, weights, _ = tiny
    runtime = ARCH.runtime(config, weights)
    ids = np.random.default_rng(2).integers(0, V, size=150)
    state, stepped = runtime.initial_state(1), []
    for i in ids:
        state, lp = runtime.step(state, np.array([i]))
        stepped.append(lp[0])
    run_state, ran = runtime.run(ids)
    np.testing.assert_allclose(ran, np.stack(stepped), atol=1e-5)
    for a, b in zip(run_state, state, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Chunks of any size, the state carried, read the same text the same way.
    carried, parts = None, []
    for lo, hi in [(0, 7), (7, 8), (8, 40), (40, 150)]:
        carried, part = runtime.run(ids[lo:hi], carried)
        parts.append(part)
    np.testing.assert_allclose(np.concatenate(parts), ran, atol=1e-5)
    start_state, last = runtime.start(ids)
    np.testing.assert_allclose(last, ran[-1], atol=1e-5)
    assert int(start_state[1][0]) == len(policy_window(list(ids), config.block_size)) == 14


def test_a_prediction_sees_its_window_and_nothing_older(tiny):
    config, weights, _ = tiny
    runtime = ARCH.runtime(config, weights)
    ids = np.random.default_rng(3).integers(0, V, size=40)
    _, base = runtime.run(ids)
    window = len(policy_window(list(ids), config.block_size))  # 40 ids: the window holds the last 16
    assert window == 16 and kept_after_slide(16) == 8
    older, inside = ids.copy(), ids.copy()
    older[-window - 1] = (older[-window - 1] + 1) % V
    inside[-window] = (inside[-window] + 1) % V
    np.testing.assert_array_equal(runtime.run(older)[1][-1], base[-1])
    assert np.abs(runtime.run(inside)[1][-1] - base[-1]).max() > 1e-3


def test_beams_select_their_caches_and_old_states_stay_valid(tiny):
    config, weights, _ = tiny
    runtime = ARCH.runtime(config, weights)
    prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]  # near the block: the next steps slide
    state, _ = runtime.start(prompt)
    beams, _ = runtime.step(take(state, [0, 0, 0]), np.array([3, 4, 5]))
    kept = tuple(a.copy() for a in beams)
    chosen = take(beams, [2, 0, 0])
    for _ in range(4):
        chosen, lp = runtime.step(chosen, np.array([6, 7, 8]))
    for a, b in zip(beams, kept, strict=True):
        np.testing.assert_array_equal(a, b)  # stepping never writes into a state it was given
    for row, (first, nxt) in enumerate([(5, 6), (3, 7), (3, 8)]):
        _, alone = runtime.run(prompt + [first] + [nxt] * 4)
        np.testing.assert_allclose(lp[row], alone[-1], atol=1e-5)


def test_rows_at_different_window_lengths_step_independently(tiny):
    config, weights, _ = tiny
    runtime = ARCH.runtime(config, weights)
    short, _ = runtime.start([1, 2])
    full, _ = runtime.start(list(range(16)))  # a full window: its next step slides
    mixed = tuple(np.concatenate([a, b, a]) for a, b in zip(short, full, strict=True))
    _, lp = runtime.step(mixed, np.array([5, 6, 7]))
    np.testing.assert_allclose(lp[0], runtime.run([1, 2, 5])[1][-1], atol=1e-5)
    np.testing.assert_allclose(lp[1], runtime.run(list(range(16)) + [6])[1][-1], atol=1e-5)
    np.testing.assert_allclose(lp[2], runtime.run([1, 2, 7])[1][-1], atol=1e-5)


def test_the_keras_step_runtime_agrees_with_numpy():
    config = ARCH.config(layers=1, heads=2, embedding=8, block_size=6, positions="sinusoidal")
    weights = weights_for(config, seed=4)
    np_rt, k_rt = ARCH.runtime(config, weights), ARCH.keras_runtime(config, weights)
    (s_np, lp_np), (s_k, lp_k) = np_rt.start([1, 2, 3]), k_rt.start([1, 2, 3])
    worst = np.abs(lp_np - lp_k).max()
    s_np, s_k = take(s_np, [0, 0]), take(s_k, [0, 0])
    for ids in np.random.default_rng(5).integers(0, V, size=(12, 2)):
        (s_np, lp_np), (s_k, lp_k) = np_rt.step(s_np, ids), k_rt.step(s_k, ids)
        worst = max(worst, np.abs(lp_np - lp_k).max())
    assert worst <= 1e-4


def test_label_description_and_parameter_count():
    config = ARCH.config()
    assert ARCH.label(config) == "Transformer 4×128"
    assert ARCH.describe(config) == ("Transformer, 4 layers × 128 wide, 4 heads, block 64, learned positions, "
                                     "dropout 0")
    # embed 65x128, positions 64x128, 4 x (two LayerNorms, qkv, projection, MLP), final LayerNorm, logits
    assert ARCH.count_params(config, 65) == 8320 + 8192 + 4 * 198_272 + 256 + 8385 == 818_241
    assert ARCH.count_params(config.replace(positions="sinusoidal"), 65) == 818_241 - 8192


def test_width_must_be_a_multiple_of_the_heads():
    with pytest.raises(ConfigError, match=r"--embedding \(100\) must be a multiple of --heads \(3\)"):
        ARCH.config(embedding=100, heads=3)
    with pytest.raises(ConfigError, match="positions must be one of learned, sinusoidal"):
        ARCH.config(positions="rotary")


def test_training_settings_it_cannot_use_are_rejected():
    config = ARCH.config(block_size=32)
    with pytest.raises(ConfigError, match=r"--seq-length \(33\) must not exceed --block-size \(32\)"):
        ModelConfig(config, TrainConfig.for_arch(config, seq_length=33))
    with pytest.raises(ConfigError, match="--stateful"):
        ModelConfig(config, TrainConfig.for_arch(config, stateful=True))
    with pytest.raises(ConfigError, match="--stateful"):
        ARCH.build_keras(config, V, stateful_batch=16)


def test_training_defaults_follow_nanogpt_and_the_block_size():
    training = TrainConfig.for_arch(ARCH.config(block_size=32))
    assert (training.optimizer, training.learning_rate, training.weight_decay) == ("adamw", 1e-3, 0.1)
    assert (training.warmup, training.clipnorm, training.seq_length) == (100, 1.0, 32)
    assert TrainConfig.for_arch(ARCH.config(block_size=32), seq_length=16).seq_length == 16


def test_config_round_trips_through_json():
    arch = ARCH.config(layers=3, heads=2, embedding=24, block_size=48, dropout=0.1, positions="sinusoidal")
    config = ModelConfig(arch, TrainConfig.for_arch(arch))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["arch"] == {"name": "transformer", "layers": 3, "heads": 2, "embedding": 24, "block_size": 48,
                            "dropout": 0.1, "positions": "sinusoidal"}
    assert ModelConfig.from_dict(data) == config
    data["arch"]["heads"] = 5
    with pytest.raises(ConfigError, match="multiple of --heads"):
        ModelConfig.from_dict(data)


def test_its_search_space_lives_beside_the_recurrent_one():
    kt = pytest.importorskip("keras_tuner")
    from charlm.trainer.search_spec import declare_space

    hp = kt.HyperParameters()
    declare_space(hp, ("lstm", "transformer"))
    names = [p.name for p in hp.space]
    assert len(names) == len(set(names))  # keras-tuner keeps one value per name
    for arch in ("lstm", "transformer"):
        hp.values["arch"] = arch
        hp.ensure_active_values()
        with hp.conditional_scope("arch", [arch]):
            values = archs.get(arch).search_space(hp)
        assert None not in values.values()
        archs.get(arch).config(**values)  # a valid config
