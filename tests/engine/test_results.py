"""The ``num`` results of every mode: n-best, samples without replacement, independent draws."""

from __future__ import annotations

import numpy as np
import pytest

from charlm.engine.results import results
from charlm.engine.settings import MAX_SEED, DecodeSettings, LiveSettings
from charlm.engine.stream import Chunk, Finished, draw_rng

from .toy import BigramModel, random_table, reference_beam

CHARS = "abcde"


def final(settings, table=None, prompt=(1,), cancelled=None):
    model = BigramModel(random_table(5, 4, concentration=0.7) if table is None else table)
    events = list(results(model, list(prompt), settings, CHARS, cancelled=cancelled))
    assert isinstance(events[-1], Finished) and not any(isinstance(e, Finished) for e in events[:-1])
    streamed = "".join(e.text for e in events if isinstance(e, Chunk))
    assert streamed == events[-1].text == events[-1].hypotheses[0].text
    return events[-1]


def test_beam_search_is_widened_to_the_number_of_results():
    table = random_table(5, 4, concentration=0.7)
    fin = final(DecodeSettings(mode="beam", beam_width=1, num=3, length=6), table)
    ref = reference_beam(table, 1, 6, 3)
    assert [h.ids for h in fin.hypotheses] == [seq for seq, _ in ref]


def test_sampled_beam_gives_distinct_samples():
    fin = final(DecodeSettings(mode="sampled-beam", beam_width=2, num=4, length=10, seed=3))
    assert len({h.text for h in fin.hypotheses}) == 4


@pytest.mark.parametrize("seed", [0, 1, 2**32, MAX_SEED - 1, MAX_SEED])
def test_sample_draws_work_for_every_seed_and_the_first_is_the_single_result(seed):
    settings = DecodeSettings(mode="sample", num=5, length=25, seed=seed, temperature=1.0)
    fin = final(settings)
    assert len(fin.hypotheses) == 5 and all(len(h.text) == 25 for h in fin.hypotheses)
    assert fin.hypotheses[0].text == final(settings.replace(num=1)).text
    assert final(settings).hypotheses == fin.hypotheses  # same seed, same results


def test_draws_are_not_the_next_seeds_results():
    """seed + i would make result i of seed s the first result of seed s + i."""
    settings = DecodeSettings(mode="sample", num=4, length=40, seed=10, temperature=1.5)
    texts = [h.text for h in final(settings).hypotheses]
    neighbours = [final(settings.replace(seed=10 + i, num=1)).text for i in range(1, 4)]
    assert not set(texts[1:]) & set(neighbours)
    assert len(set(texts)) == 4


def test_draw_streams_are_independent_of_each_other():
    a, b = draw_rng(MAX_SEED, 1), draw_rng(MAX_SEED, 2)
    assert a.random() != b.random()
    assert draw_rng(7, 0).random() == np.random.default_rng(7).random()


def test_greedy_has_one_result_and_live_settings_are_read():
    assert len(final(DecodeSettings(mode="greedy", num=3, length=5)).hypotheses) == 1
    live = LiveSettings(DecodeSettings(mode="sample", num=3, length=5, seed=1))
    assert len(final(live).hypotheses) == 3


def test_cancel_stops_the_remaining_draws():
    calls = {"n": 0}

    def cancelled():
        calls["n"] += 1
        return calls["n"] > 8  # the first draw polls 6 times (5 characters and the end)

    fin = final(DecodeSettings(mode="sample", num=4, length=5, seed=1), cancelled=cancelled)
    assert fin.reason == "length" and 1 <= len(fin.hypotheses) < 4
