"""Perplexity is exp(total cross-entropy / characters), checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.engine import Engine
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
