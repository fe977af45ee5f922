"""The prefix cache gives the engine's numbers, one model step per typed character, in bounded memory."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.engine import Engine
from charlm.engine.prefix import PrefixCache
from tests.conftest import random_model
from tests.tui.conftest import make_engine


def assert_agrees(cache, engine, text):
    got = cache.analyze(text, 5)
    expected = engine.next_char_distribution(text, 5)
    assert [c for c, _ in got.distribution] == [c for c, _ in expected], text
    assert all(math.isclose(p, q, rel_tol=1e-4) for (_, p), (_, q) in
               zip(got.distribution, expected, strict=True))
    if text:
        assert math.isclose(got.perplexity, engine.perplexity(text), rel_tol=1e-4), text
    else:
        assert math.isnan(got.perplexity)
    assert got.unknown == engine.unknown_chars(text)


@pytest.mark.parametrize("arch", ["toy", "gru", "lstm", "builtin"])
def test_prefix_cache_agrees_with_the_engine(arch):
    if arch == "toy":
        engine = make_engine()
    elif arch == "builtin":  # subtitles: documents separated by a space, not a newline
        engine = Engine.load("default")
        assert engine.prime_id == engine.vocab.chars.index(" ")
    else:
        random_model("m", arch, units=16, layers=2, text="hola che, ¿qué tal?  Bien\n")
        engine = Engine.load("m")
    cache = PrefixCache(engine)
    # Typing, backspacing, editing in the middle, a space collapsed by normalisation.
    for text in ["", "h", "ho", "hol", "ho", "hola  ", "hola  c", "HOLA che", "ola", "abc", "a#c"]:
        assert_agrees(cache, engine, text)


class CountingEngine:
    """The toy engine, counting model steps."""

    def __init__(self):
        self.engine = make_engine()
        model = self.engine.model
        self.steps = 0
        inner = model.step

        def step(state, ids):
            self.steps += 1
            return inner(state, ids)

        model.step = step


def test_one_step_per_typed_character_and_none_per_backspace():
    counting = CountingEngine()
    cache = PrefixCache(counting.engine)
    cache.analyze("", 3)
    text = ""
    for char in "abcdefgh abcdefgh":
        text += char
        before = counting.steps
        cache.analyze(text, 3)
        assert counting.steps == before + 1
    before = counting.steps
    for n in range(len(text) - 1, 0, -1):
        cache.analyze(text[:n], 3)
    assert counting.steps == before


def test_memory_is_bounded_and_deep_edits_recompute_exactly():
    engine = make_engine()
    cache = PrefixCache(engine, recent=16, checkpoints=8)
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("abcdefgh ."), size=3000))
    cache.analyze(text, 5)
    assert cache.state_count <= 16 + 8
    # Typing on keeps the bound; a deep backspace re-reads from a checkpoint.
    for extra in ("ab", "abc", "abcd"):
        cache.analyze(text + extra, 5)
    assert cache.state_count <= 16 + 8
    for cut in (2999, 2500, 1234, 17, 1):
        assert_agrees(cache, engine, text[:cut])
        assert cache.state_count <= 16 + 8
    assert_agrees(cache, engine, text[:1234] + "x" + text[1235:1300])


def test_a_long_paste_holds_few_states():
    engine = make_engine()
    cache = PrefixCache(engine)
    cache.analyze("abcdefgh " * 20_000, 5)  # 180,000 characters
    assert cache.state_count <= 512 + 64
