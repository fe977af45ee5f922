"""Perplexity is exp(total cross-entropy / characters), checked by hand; parallel streams agree with it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.engine import Engine
from charlm.engine.scoring import SCORE_STREAMS, Score, score_ids, score_streams, stream_count, stream_layout
from tests.conftest import random_model


def hand_perplexity(weights, vocab, text: str) -> float:
    """An Elman RNN written out longhand: h = tanh(x W + h U + b), p = softmax(h V + c)."""
    E, W, U, b = weights["embed.0"], weights["rnn_0.0"], weights["rnn_0.1"], weights["rnn_0.2"]
    Vk, c = weights["logits.0"], weights["logits.1"]
    ids = [vocab.chars.index(ch) for ch in text]
    h = np.zeros(U.shape[0])
    prev = vocab.chars.index("\n")  # a text is read from a document start
    total = 0.0
    for t in ids:
        h = np.tanh(E[prev] @ W + h @ U + b)
        logits = h @ Vk + c
        logp = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
        total -= logp[t]
        prev = t
    return math.exp(total / len(ids))


def test_perplexity_matches_a_hand_computation():
    record, weights = random_model("hand", "rnn", units=3, embedding=2, text="ab c\n", scale=0.8)
    engine = Engine.load("hand")
    text = "abc ab\nca"
    assert engine.perplexity(text) == pytest.approx(hand_perplexity(weights, record.vocabulary, text), rel=1e-5)
    score = engine.score(text)
    assert score.chars == len(text)
    assert score.bits_per_char == pytest.approx(math.log2(engine.perplexity(text)), rel=1e-9)
    assert engine.logprob(text) == pytest.approx(-score.nll)


def test_unknown_characters_are_counted():
    random_model("hand", "rnn", units=3, embedding=2, text="ab c\n")
    score = Engine.load("hand").score("abzzc")
    assert score.unknown == 2 and score.unknown_chars == ("z",)


def test_next_char_distribution_is_sorted_and_sums_to_one():
    random_model("m", "lstm")
    engine = Engine.load("m")
    dist = engine.next_char_distribution("hola", k=100)
    probs = [p for _, p in dist]
    assert len(dist) == len(engine.vocab) and probs == sorted(probs, reverse=True)
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)
    assert engine.next_char_distribution("hola", k=3) == dist[:3]


# ------------------------------------------------------------- parallel streams


def random_runtime(arch: str, vocab: int = 23, seed: int = 0, **fields):
    """The numpy runtime of random weights (no store, no TensorFlow)."""
    from charlm import archs

    architecture = archs.get(arch)
    config = architecture.config(**fields)
    rng = np.random.default_rng(seed)
    weights = {k: (rng.normal(size=s) * 0.5).astype(np.float32)
               for k, s in architecture.layout(config, vocab).items()}
    return architecture.runtime(config, weights)


def markov_ids(n: int, vocab: int = 23, seed: int = 1) -> np.ndarray:
    """Text-like ids (uint8, as a vocabulary encodes them): repeated motifs, so context matters."""
    rng = np.random.default_rng(seed)
    motifs = [rng.integers(1, vocab, size=rng.integers(3, 9)) for _ in range(12)]
    return np.concatenate([motifs[i] for i in rng.integers(0, 12, size=n)])[:n].astype(np.uint8)


SMALL = {
    "rnn": {"units": 12, "embedding": 6},
    "lstm": {"units": 16, "embedding": 8, "layers": 2},
    "gru": {"units": 12, "embedding": 0},
    "transformer": {"layers": 2, "heads": 2, "embedding": 16, "block_size": 16},
}


def test_streams_cut_where_a_bigram_model_forgets_nothing():
    """A bigram model's context is the previous id, so one character of burn-in makes the
    parallel figure exact: every character is scored once, in its own context."""
    from tests.engine.toy import BigramModel, random_table, sequence_logprob

    table = random_table(6, seed=3)
    ids = np.random.default_rng(0).integers(0, 6, size=1000).astype(np.uint8)
    exact = -sequence_logprob(table, 5, ids.tolist())
    for streams in (2, 7, 31):
        model = BigramModel(table)
        score = score_streams(model, ids, prime=5, streams=streams, burn_in=1, align=1)
        assert score.chars == 1000
        assert score.nll == pytest.approx(exact, rel=1e-12)
        # One start per stream, then one batched step per character of the longest stream.
        reads, _, ends = stream_layout(1000, streams, 1, 1)
        assert model.start_calls == streams == stream_count(1000, streams, 1, 1)
        assert set(model.batch_sizes) == {streams}
        assert model.step_calls == int((ends - reads).max()) - 1 <= 1000 // streams + streams


def test_stream_segments_tile_the_text():
    for n, streams, burn_in, align in [(6000, 11, 32, 128), (10**6, 128, 128, 128), (5000, 3, 0, 1)]:
        k = stream_count(n, streams, burn_in, align)
        assert k == streams
        reads, scored, ends = stream_layout(n, k, burn_in, align)
        assert scored[0] == reads[0] == 0 and ends[-1] == n
        assert np.array_equal(scored[1:], ends[:-1]) and (ends > scored).all()
        assert np.array_equal(scored[1:] - reads[1:], [burn_in] * (k - 1))
        assert (reads % align == 0).all()
    assert stream_count(2 * 16 * 128 - 1) == 1  # two segments of 16 x burn-in at least
    assert stream_count(2 * 16 * 128) == 2
    assert stream_count(10**8) == SCORE_STREAMS


@pytest.mark.parametrize("arch", ["gru", "lstm", "rnn"])
def test_parallel_streams_agree_with_the_single_stream(arch):
    runtime = random_runtime(arch, **SMALL[arch])
    ids = markov_ids(6000)
    exact = score_ids(runtime, ids, prime=1)
    for streams in (2, 5, 11):
        assert stream_count(len(ids), streams, burn_in=32) == streams
        fast = score_streams(runtime, ids, prime=1, streams=streams, burn_in=32)
        assert fast.chars == exact.chars == 6000
        assert fast.perplexity == pytest.approx(exact.perplexity, rel=5e-3)


def test_aligned_transformer_streams_hold_the_single_streams_windows():
    """Streams start at multiples of the window's sliding period (block / 2 = 8) and burn
    in a whole block, so every prediction sees the window the single stream sees."""
    runtime = random_runtime("transformer", **SMALL["transformer"])
    ids = markov_ids(6000)
    exact = score_ids(runtime, ids, prime=1)
    for streams, burn_in, align in [(2, 32, 128), (11, 32, 128), (11, 16, 8)]:
        fast = score_streams(runtime, ids, 1, streams=streams, burn_in=burn_in, align=align)
        assert fast.nll == pytest.approx(exact.nll, rel=1e-5)
    # Out of phase, the windows differ after every cut: close, no longer the same.
    shifted = score_streams(runtime, ids, 1, streams=11, burn_in=16, align=3)
    assert shifted.perplexity == pytest.approx(exact.perplexity, rel=5e-3)
    assert shifted.nll != pytest.approx(exact.nll, rel=1e-5)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_one_stream_or_a_short_text_is_the_exact_single_stream(arch):
    runtime = random_runtime(arch, **SMALL[arch])
    ids = markov_ids(3000)
    assert score_streams(runtime, ids, 1, streams=1) == score_ids(runtime, ids, 1)
    # Too short for two segments of 16 x burn-in: the exact figure, not an estimate.
    assert stream_count(3000, burn_in=128) == 1
    assert score_streams(runtime, ids, 1) == score_ids(runtime, ids, 1)
    assert score_streams(runtime, ids[:0], 1) == Score(0.0, 0)


def test_parallel_scoring_memory_is_bounded_by_the_streams_not_the_text():
    import tracemalloc

    runtime = random_runtime("gru", vocab=200, units=8, embedding=4)
    ids = markov_ids(40_000, vocab=200)
    tracemalloc.start()
    try:
        score = score_streams(runtime, ids, 1, streams=16, burn_in=8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert score.chars == 40_000
    # The context copy (one byte per id) and a step's (16 x 200) float32 log-probs; the
    # text's log-probs at once would be 40,000 x 200 x 4 bytes = 32 MB.
    assert peak < len(ids) + 200_000
