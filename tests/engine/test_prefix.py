"""The prefix cache gives the engine's numbers, one model step per typed character."""

from __future__ import annotations

import math

import pytest

from charlm.engine import Engine
from charlm.engine.prefix import PrefixCache
from tests.conftest import random_model
from tests.tui.conftest import make_engine


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
    for text in ["", "h", "ho", "hol", "ho", "hola  ", "hola  c", "HOLA che", "ola", "abc"]:
        distribution, perplexity = cache.analyze(text, 5)
        expected = engine.next_char_distribution(text, 5)
        assert [c for c, _ in distribution] == [c for c, _ in expected], text
        assert all(math.isclose(p, q, rel_tol=1e-4) for (_, p), (_, q) in
                   zip(distribution, expected, strict=True))
        if text:
            assert math.isclose(perplexity, engine.perplexity(text), rel_tol=1e-4), text
        else:
            assert math.isnan(perplexity)
