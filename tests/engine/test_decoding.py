"""Decoding primitives and the beam searches, checked on a bigram toy with known probabilities."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from charlm.engine.beam import BeamSearch, log1mexp, truncated_gumbel
from charlm.engine.decoding import (
    Cursor,
    ExcludedIds,
    NgramIndex,
    StopMatcher,
    apply_temperature,
    block_tokens,
    greedy_token,
    sample_token,
    top_k_mask,
    top_p_mask,
)
from charlm.engine.settings import MIN_TEMPERATURE

from .toy import BigramModel, all_sequences, random_table, reference_beam, sequence_logprob

CHARS = "abcdefgh"


def chi_square(observed: np.ndarray, expected: np.ndarray) -> float:
    return float(((observed - expected) ** 2 / expected).sum())


def chi2_critical(df: int) -> float:
    """0.999 quantile of chi-square (scipy if importable, else a table for the dfs used here)."""
    try:
        from scipy.stats import chi2
    except ImportError:
        return {1: 10.828, 2: 13.816, 3: 16.266, 26: 54.052}[df]
    return float(chi2.ppf(0.999, df))


# -- filters --------------------------------------------------------------------------------


def test_temperature_scales_and_renormalises():
    p = np.array([0.5, 0.3, 0.2])
    out = apply_temperature(np.log(p), 0.5)
    expected = p**2 / (p**2).sum()
    np.testing.assert_allclose(np.exp(out), expected, rtol=1e-12)
    np.testing.assert_allclose(apply_temperature(np.log(p), 1.0), np.log(p), atol=1e-12)
    # logits work too: only differences matter
    shifted = apply_temperature(np.log(p) + 7.0, 2.0)
    np.testing.assert_allclose(shifted, apply_temperature(np.log(p), 2.0))


def test_temperature_below_minimum_is_one_hot_argmax():
    lp = np.log(np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]))
    out = apply_temperature(lp, MIN_TEMPERATURE / 2)
    assert out[0].tolist() == [-np.inf, 0.0, -np.inf]
    assert out[1].tolist() == [0.0, -np.inf, -np.inf]
    assert apply_temperature(lp[0], 0.0).tolist() == [-np.inf, 0.0, -np.inf]


def test_top_k_keeps_exactly_the_k_best():
    lp = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    out = top_k_mask(lp, 2)
    assert np.isfinite(out).tolist() == [False, True, False, True]
    np.testing.assert_allclose(np.exp(out[[1, 3]]), [4 / 7, 3 / 7])
    np.testing.assert_allclose(top_k_mask(lp, 0), lp, atol=1e-12)
    np.testing.assert_allclose(top_k_mask(lp, 4), lp, atol=1e-12)
    # batched, and ties go to the lower id
    batch = np.log(np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]]))
    out = top_k_mask(batch, 3)
    assert np.isfinite(out).tolist() == [[True, True, True, False], [False, True, True, True]]
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0)


def test_top_p_smallest_set_reaching_p():
    lp = np.log(np.array([0.2, 0.5, 0.3]))
    assert np.isfinite(top_p_mask(lp, 0.5)).tolist() == [False, True, False]
    assert np.isfinite(top_p_mask(lp, 0.51)).tolist() == [False, True, True]
    assert np.isfinite(top_p_mask(lp, 0.8)).tolist() == [False, True, True]  # 0.5 + 0.3 reaches 0.8
    assert np.isfinite(top_p_mask(lp, 0.81)).tolist() == [True, True, True]
    assert np.isfinite(top_p_mask(lp, 0.01)).tolist() == [False, True, False]  # never empty
    np.testing.assert_allclose(np.exp(top_p_mask(lp, 0.6)), [0, 0.625, 0.375])
    batch = np.log(np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1]]))
    kept = np.isfinite(top_p_mask(batch, 0.75)).tolist()
    assert kept == [[False, True, True], [True, True, False]]


@pytest.mark.parametrize("p", [1e-12, 1e-300, 5e-324, 1e-9])
def test_tiny_top_p_keeps_the_most_likely_token(p):
    lp = np.log(np.array([0.2, 0.5, 0.3]))
    np.testing.assert_array_equal(np.exp(top_p_mask(lp, p)), [0.0, 1.0, 0.0])
    rng = np.random.default_rng(0)
    assert {sample_token(lp, rng, top_p=p) for _ in range(50)} == {1}
    batch = np.log(np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1]]))
    np.testing.assert_array_equal(np.exp(top_p_mask(batch, p)), [[0, 1, 0], [1, 0, 0]])


# -- n-gram blocking ------------------------------------------------------------------------


def ngram_banned(history, n):
    """Reference: ids that would complete an n-gram already in ``history`` (a plain scan)."""
    h = list(history)
    if n <= 0 or len(h) < n:
        return []
    ctx = h[len(h) - n + 1:] if n > 1 else []
    return sorted({h[i + n - 1] for i in range(len(h) - n + 1) if h[i:i + n - 1] == ctx})


def test_ngram_index_exact_sets():
    h = [0, 1, 2, 0, 1]
    assert sorted(NgramIndex(h, 2).banned()) == [2]  # "1 2" seen, context is 1
    assert sorted(NgramIndex(h, 3).banned()) == [2]  # "0 1 2" seen, context is "0 1"
    assert sorted(NgramIndex(h, 4).banned()) == []
    assert sorted(NgramIndex(h, 1).banned()) == [0, 1, 2]
    assert sorted(NgramIndex([0, 1, 0, 3, 0], 2).banned()) == [1, 3]
    assert NgramIndex(h, 0).banned() == []
    assert NgramIndex([0], 2).banned() == []


def test_block_tokens_never_blocks_everything():
    lp = np.log(np.full(4, 0.25))
    row = lp.copy()
    block_tokens(row, NgramIndex([0, 1, 2, 0, 1], 2).banned())
    assert np.isneginf(row).tolist() == [False, False, True, False]
    assert row[0] == lp[0]  # not renormalised
    # a row where everything would be blocked is left alone
    row = np.log([0.5, 0.5])
    block_tokens(row, NgramIndex([0, 0, 1, 1, 0, 1], 1).banned())
    assert np.isfinite(row).all()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_ngram_index_agrees_with_scan(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        hist = rng.integers(0, 3, size=int(rng.integers(0, 25))).tolist()
        tail = rng.integers(0, 3, size=int(rng.integers(0, 6))).tolist()
        idx = NgramIndex(hist, n)
        assert sorted(idx.banned(tail)) == ngram_banned(hist + tail, n)
        idx.extend(tail)
        assert sorted(idx.banned()) == ngram_banned(hist + tail, n)
    idx = NgramIndex([0, 1, 2, 0, 1], 0)
    assert idx.banned() == []
    idx.set_n(2)
    assert idx.banned() == [2]


# -- sampling -------------------------------------------------------------------------------


def test_sample_token_frequencies_follow_filtered_distribution():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    rng = np.random.default_rng(0)
    n = 10000
    counts = np.bincount([sample_token(np.log(p), rng, temperature=0.5, top_k=3) for _ in range(n)], minlength=4)
    assert counts[0] == 0
    q = p[1:] ** 2 / (p[1:] ** 2).sum()
    assert chi_square(counts[1:], n * q) < chi2_critical(2)
    draws = [sample_token(np.log(p), rng, top_p=0.65) for _ in range(5000)]
    counts = np.bincount(draws, minlength=4)
    assert counts[:2].tolist() == [0, 0] and counts[2] > 1500 and counts[3] > 1500


@pytest.mark.parametrize(("t", "k", "p"), [(0.5, 3, 1.0), (1.3, 0, 0.7), (0.8, 2, 0.9), (2.0, 4, 0.3)])
def test_sample_token_draws_from_the_composed_filters(t, k, p):
    """One implementation: what sample_token draws is exactly top_p(top_k(temperature(lp)))."""
    lp = np.log(np.array([0.05, 0.15, 0.3, 0.4, 0.1]))
    lp[0] = -np.inf  # a blocked id stays impossible
    expected = np.exp(top_p_mask(top_k_mask(apply_temperature(lp, t), k), p))
    rng = np.random.default_rng(11)
    n = 8000
    counts = np.bincount([sample_token(lp, rng, temperature=t, top_k=k, top_p=p) for _ in range(n)],
                         minlength=5)
    assert (counts[expected == 0] == 0).all()
    support = expected > 0
    if support.sum() > 1:
        df = int(support.sum()) - 1
        assert chi_square(counts[support], n * expected[support]) < chi2_critical(df)


def test_excluded_ids_are_never_offered():
    table = random_table(4, 3)
    model = ExcludedIds(BigramModel(table), [0])
    state, lp = model.start([1])
    assert lp[0] == -np.inf and lp[1:] == pytest.approx(np.log(table[1, 1:]))
    state, lp = model.step((np.array([1, 2]),), np.array([1, 2]))
    assert np.isneginf(lp[:, 0]).all() and np.isfinite(lp[:, 1:]).all()


def test_sample_token_temperature_zero_is_greedy():
    rng = np.random.default_rng(1)
    lp = np.log(np.array([0.3, 0.31, 0.39 - 1e-9, 1e-9]))
    assert all(sample_token(lp, rng, temperature=0.0) == greedy_token(lp) == 2 for _ in range(50))


# -- Gumbel conditioning --------------------------------------------------------------------


def test_log1mexp_accuracy():
    x = np.array([-1e-5, -0.5, -0.7, -1.0, -3.0])
    np.testing.assert_allclose(np.exp(log1mexp(x)) + np.exp(x), 1.0, rtol=1e-14)
    # the two ends where the naive formula loses everything
    assert log1mexp(np.array(-1e-20)) == pytest.approx(math.log(1e-20), rel=1e-12)
    assert log1mexp(np.array(-40.0)) == pytest.approx(-math.exp(-40.0), rel=1e-12)
    assert log1mexp(np.array(-np.inf)) == 0.0
    assert log1mexp(np.array(0.0)) == -np.inf


def test_truncated_gumbel_matches_definition_and_keeps_max_at_parent():
    rng = np.random.default_rng(3)
    perturbed = rng.normal(size=6)
    z = perturbed.max()
    parent = 0.3
    out = truncated_gumbel(np.array(parent), perturbed, np.array(z))
    naive = -np.log(np.exp(-parent) - np.exp(-z) + np.exp(-perturbed))
    np.testing.assert_allclose(out, naive, rtol=1e-10)
    assert out[np.argmax(perturbed)] == parent
    assert (out <= parent).all()
    # where exp(-x) underflows the stable form still equals the shifted definition
    out = truncated_gumbel(np.array(1000.0), np.array([1005.0, 1004.0, -np.inf]), np.array(1005.0))
    assert out[0] == 1000.0
    assert out[1] == pytest.approx(1000.0 - math.log(1 + math.exp(-4) - math.exp(-5)), rel=1e-14)
    assert out[2] == -np.inf


# -- stop matching --------------------------------------------------------------------------


def test_stop_matcher():
    m = StopMatcher(["cd", "xyz", "d"])
    assert m.match("abcd") == 2  # the longest match starts earliest
    assert m.match("abd") == 1
    assert m.match("abc") == 0
    assert m.holdback("abc") == 1
    assert m.holdback("abxy") == 2
    assert m.holdback("abx") == 1
    assert m.holdback("ab") == 0
    assert StopMatcher([]).holdback("abc") == 0


# -- beam search (driven directly) ----------------------------------------------------------


def run_beam(
    model, *, width, length, stochastic=False, temperature=1.0, seed=0, stops=(), n=0, prompt=(0,), alpha=0.0, num=1
):
    state, lp = model.start(list(prompt))
    index = NgramIndex(prompt, n)
    search = BeamSearch(
        model,
        Cursor(state, lp),
        width=width,
        stochastic=stochastic,
        temperature=temperature,
        rng=np.random.default_rng(seed),
        chars=CHARS,
        index=index,
        context=[],
    )
    matcher = StopMatcher(stops)
    while not search.done and search.depth < length:
        search.step(matcher, num=num, alpha=alpha)
    return search.results(alpha)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("width", [1, 2, 3])
def test_beam_matches_reference_and_steps_once_per_character(seed, width):
    table = random_table(4, seed)
    model = BigramModel(table)
    results = run_beam(model, width=width, length=6, prompt=(1,), num=width)
    ref = reference_beam(table, 1, 6, width)
    assert [r.ids for r, _ in results] == [seq for seq, _ in ref]
    np.testing.assert_allclose([s for _, s in results], [lp for _, lp in ref], rtol=1e-10)
    # first character from start(), then one batched step per further character
    assert model.step_calls == 5
    assert max(model.batch_sizes) == width and all(b <= width for b in model.batch_sizes)


def test_exhaustive_beam_gives_brute_force_nbest():
    table = random_table(3, 11)
    results = run_beam(BigramModel(table), width=27, length=4, prompt=(2,), num=5)
    brute = sorted(all_sequences(3, 4), key=lambda s: -sequence_logprob(table, 2, s))
    assert [r.ids for r, _ in results[:5]] == brute[:5]


def test_sampled_beam_k_distinct_sequences():
    for seed in range(10):
        results = run_beam(BigramModel(random_table(4, seed)), width=4, length=5, stochastic=True, seed=seed, num=4)
        ids = [r.ids for r, _ in results]
        assert len(ids) == 4 and len(set(ids)) == 4
        keys = [s for _, s in results]
        assert keys == sorted(keys, reverse=True)


def test_beam_with_stop_finishes_hypotheses():
    # a -> b almost surely, b -> c, c -> a: stop "ca" is hit after "bca"
    table = np.array([[0.05, 0.9, 0.05], [0.05, 0.05, 0.9], [0.9, 0.05, 0.05]])
    results = run_beam(BigramModel(table), width=2, length=10, stops=("ca",), num=2)
    best, _ = results[0]
    assert best.ids == (1, 2, 0) and best.cut == 2
    assert best.logprob == pytest.approx(sequence_logprob(table, 0, (1, 2, 0)))


def test_sampled_beam_without_replacement_distribution():
    """k = 2 on all length-3 sequences: sample 1 ~ p, sample 2 ~ sum_x p(x) p(y) / (1 - p(x))."""
    table = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.2, 0.5]])
    temperature = 0.8
    scaled = table ** (1 / temperature)
    scaled /= scaled.sum(axis=1, keepdims=True)
    seqs = all_sequences(3, 3)
    p = np.exp([sequence_logprob(scaled, 0, s) for s in seqs])
    second = np.array([sum(p[x] * p[y] / (1 - p[x]) for x in range(27) if x != y) for y in range(27)])
    pos = {s: i for i, s in enumerate(seqs)}
    n = 2000
    first_counts, second_counts = np.zeros(27), np.zeros(27)
    model = BigramModel(table)
    state, lp = model.start([0])
    rng = np.random.default_rng(2024)
    for _ in range(n):
        search = BeamSearch(
            model,
            Cursor(state, lp),
            width=2,
            stochastic=True,
            temperature=temperature,
            rng=rng,
            chars=CHARS,
            index=NgramIndex([0]),
            context=[],
        )
        for _ in range(3):
            search.step(StopMatcher(()))
        (a, _), (b, _) = search.results()[:2]
        first_counts[pos[a.ids]] += 1
        second_counts[pos[b.ids]] += 1
    assert chi_square(first_counts, n * p) < chi2_critical(26)
    assert chi_square(second_counts, n * second) < chi2_critical(26)


def test_ngram_blocking_in_beam():
    table = np.array([[0.02, 0.9, 0.04, 0.04], [0.9, 0.02, 0.04, 0.04], [0.3, 0.3, 0.1, 0.3], [0.3, 0.3, 0.3, 0.1]])
    results = run_beam(BigramModel(table), width=3, length=8, n=2, num=3)
    for r, _ in results:
        seq = (0, *r.ids)
        grams = list(zip(seq, seq[1:], strict=False))
        assert len(grams) == len(set(grams))


def test_exhaustive_search_enumerates_every_sequence():
    table = random_table(2, 5)
    results = run_beam(BigramModel(table), width=8, length=3, num=8)
    assert sorted(r.ids for r, _ in results) == sorted(itertools.product(range(2), repeat=3))
