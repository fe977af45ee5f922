"""The streaming driver: chunks, stop strings, live settings and cancellation, on a bigram toy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.engine.settings import DecodeSettings, LiveSettings
from charlm.engine.stream import Chunk, Finished, Mark, generate

from .toy import BigramModel, all_sequences, random_table, reference_beam, sequence_logprob

CHARS = "abcdefgh"
#: a -> b -> c -> a (greedy loops "abcabc..."), never certain.
CYCLE = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])


def run(model, settings, prompt=(0,), cancelled=None, marks=None):
    chunks, finished = [], []
    for event in generate(model, list(prompt), settings, CHARS, cancelled=cancelled):
        assert not finished, "nothing may follow Finished"
        if isinstance(event, Mark):
            if marks is not None:
                marks.append(event)
            continue
        (chunks if isinstance(event, Chunk) else finished).append(event)
    assert len(finished) == 1 and isinstance(finished[0], Finished)
    return chunks, finished[0]


def greedy_chain(table, last, n):
    out = []
    for _ in range(n):
        last = int(np.argmax(table[last]))
        out.append(last)
    return "".join(CHARS[i] for i in out)


def text_of(ids):
    return "".join(CHARS[i] for i in ids)


def greedy(**kw):
    return DecodeSettings(mode="greedy", **kw)


# -- greedy and the basic contract ----------------------------------------------------------


def test_greedy_path_and_logprobs():
    table = np.array([[0.1, 0.6, 0.2, 0.1], [0.1, 0.1, 0.1, 0.7], [0.5, 0.2, 0.2, 0.1], [0.2, 0.2, 0.5, 0.1]])
    model = BigramModel(table)
    chunks, fin = run(model, greedy(length=6), prompt=(3, 0))
    assert fin.text == "bdcabd" and fin.reason == "length"
    assert [c.text for c in chunks] == list("bdcabd")  # one character as soon as chosen
    np.testing.assert_allclose([c.logprobs[0] for c in chunks], np.log([0.6, 0.7, 0.5, 0.5, 0.6, 0.7]))
    (hyp,) = fin.hypotheses
    assert hyp.text == fin.text and hyp.ids == (1, 3, 2, 0, 1, 3)
    assert hyp.logprob == pytest.approx(sequence_logprob(table, 0, hyp.ids))
    assert model.start_calls == 1 and model.step_calls == 5  # no step after the last character


def test_length_zero():
    chunks, fin = run(BigramModel(CYCLE), greedy(length=0))
    assert chunks == [] and fin.text == "" and fin.reason == "length"


@pytest.mark.parametrize("mode", ["greedy", "beam", "sampled-beam", "sample"])
@pytest.mark.parametrize("seed", range(4))
def test_chunks_concatenate_to_text_in_every_mode(mode, seed):
    table = random_table(4, seed, concentration=0.5)
    settings = DecodeSettings(
        mode=mode, seed=seed, length=40, beam_width=3, num=3, stop=("dab", "cc"), no_repeat_ngram=seed % 3 * 2
    )
    chunks, fin = run(BigramModel(table), settings)
    assert "".join(c.text for c in chunks) == fin.text
    assert all(c.text and len(c.text) == len(c.logprobs) for c in chunks)
    assert fin.hypotheses[0].text == fin.text
    assert sum(lp for c in chunks for lp in c.logprobs) == pytest.approx(fin.hypotheses[0].logprob)
    assert "dab" not in fin.text and "cc" not in fin.text
    assert len(fin.text) <= 40 and fin.reason in ("length", "stop")


# -- beam search ----------------------------------------------------------------------------


def brute_force(table, last, length, stops, alpha):
    """Best over every possible hypothesis: stopped at the first stop string, or full length."""
    best = {}
    for seq in all_sequences(table.shape[0], length):
        text, n, cut = text_of(seq), length, 0
        for j in range(1, length + 1):
            hits = [len(s) for s in stops if text[:j].endswith(s)]
            if hits:
                n, cut = j, max(hits)
                break
        lp = sequence_logprob(table, last, seq[:n])
        key = text[: n - cut]  # different hypotheses can leave the same text
        best[key] = max(best.get(key, -math.inf), lp / n**alpha)
    return max(best.items(), key=lambda kv: kv[1])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alpha", [0.0, 0.7, 2.0])
@pytest.mark.parametrize("stops", [(), ("ca",), ("b", "aa")])
def test_exhaustive_beam_equals_brute_force(seed, alpha, stops):
    table = random_table(3, seed + 100)
    settings = DecodeSettings(mode="beam", beam_width=81, length=4, stop=stops, length_penalty=alpha)
    chunks, fin = run(BigramModel(table), settings, prompt=(1,))
    text, score = brute_force(table, 1, 4, stops, alpha)
    assert fin.text == text
    assert fin.hypotheses[0].score == pytest.approx(score)
    assert fin.reason == ("stop" if len(text) < 4 else "length")


@pytest.mark.parametrize("seed", range(6))
def test_beam_matches_reference_search_and_nbest(seed):
    table = random_table(4, seed)
    settings = DecodeSettings(mode="beam", beam_width=3, num=3, length=8)
    model = BigramModel(table)
    _, fin = run(model, settings, prompt=(2,))
    ref = reference_beam(table, 2, 8, 3)
    assert [h.ids for h in fin.hypotheses] == [seq for seq, _ in ref]
    scores = [h.score for h in fin.hypotheses]
    assert scores == sorted(scores, reverse=True)
    assert len({h.text for h in fin.hypotheses}) == 3
    np.testing.assert_allclose(scores, [lp for _, lp in ref])
    # one batched model step per character after the first
    assert model.step_calls == 7 and model.batch_sizes[1:] == [3] * 6


@pytest.mark.parametrize("seed", range(8))
def test_width_one_is_greedy_and_wider_beams_do_not_score_worse(seed):
    table = random_table(5, seed, concentration=0.7)
    base = DecodeSettings(length=25, stop=("eb",), no_repeat_ngram=3)
    _, g = run(BigramModel(table), base.replace(mode="greedy"))
    _, b1 = run(BigramModel(table), base.replace(mode="beam", beam_width=1))
    assert b1.text == g.text and b1.reason == g.reason
    plain = DecodeSettings(length=12)
    _, g = run(BigramModel(table), plain.replace(mode="greedy"))
    _, b = run(BigramModel(table), plain.replace(mode="beam", beam_width=4))
    assert b.hypotheses[0].logprob >= g.hypotheses[0].logprob - 1e-12


def test_beam_streams_settled_prefix_before_the_end():
    table = random_table(6, 3, concentration=0.3)
    chunks, fin = run(BigramModel(table), DecodeSettings(mode="beam", beam_width=3, length=60))
    assert len(chunks) > 3  # settled text streams while the search runs
    assert "".join(c.text for c in chunks) == fin.text


def test_sampled_beam_k_distinct_samples():
    table = random_table(4, 9)
    for seed in range(5):
        settings = DecodeSettings(mode="sampled-beam", beam_width=5, num=5, length=6, seed=seed, temperature=1.0)
        _, fin = run(BigramModel(table), settings)
        texts = [h.text for h in fin.hypotheses]
        assert len(texts) == 5 and len(set(texts)) == 5
        assert [h.score for h in fin.hypotheses] == sorted((h.score for h in fin.hypotheses), reverse=True)


def chi_critical(df):
    try:
        from scipy.stats import chi2
    except ImportError:
        return {2: 13.816, 26: 54.052}[df]
    return float(chi2.ppf(0.999, df))


def test_sampled_beam_width_one_samples_the_model():
    table = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.2, 0.5]])
    seqs = all_sequences(3, 3)
    p = np.exp([sequence_logprob(table, 0, s) for s in seqs])
    index = {text_of(s): i for i, s in enumerate(seqs)}
    n = 2000
    counts = np.zeros(27)
    model = BigramModel(table)
    for seed in range(n):
        settings = DecodeSettings(mode="sampled-beam", beam_width=1, length=3, seed=seed, temperature=1.0)
        _, fin = run(model, settings)
        counts[index[fin.text]] += 1
    assert ((counts - n * p) ** 2 / (n * p)).sum() < chi_critical(26)


def test_sample_first_character_follows_temperature():
    table = np.array([[0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.1, 0.1, 0.8]])
    n = 4000
    counts = np.zeros(3)
    for seed in range(n):
        _, fin = run(BigramModel(table), DecodeSettings(mode="sample", temperature=0.6, length=1, seed=seed))
        counts["abc".index(fin.text)] += 1
    q = table[0] ** (1 / 0.6)
    q = n * q / q.sum()
    assert ((counts - q) ** 2 / q).sum() < chi_critical(2)


def test_temperature_zero_and_top_k_one_are_greedy():
    table = random_table(6, 4)
    _, g = run(BigramModel(table), greedy(length=30))
    _, t0 = run(BigramModel(table), DecodeSettings(mode="sample", temperature=0.0, length=30, seed=1))
    _, k1 = run(BigramModel(table), DecodeSettings(mode="sample", top_k=1, temperature=1.5, length=30, seed=1))
    assert t0.text == g.text == k1.text


@pytest.mark.parametrize("mode", ["greedy", "sample", "beam", "sampled-beam"])
@pytest.mark.parametrize("n", [2, 3])
def test_no_repeat_ngram_breaks_the_loop(mode, n):
    # a <-> b wants to loop "abab..."; c..f are unlikely but allowed
    table = np.full((6, 6), 0.02)
    table[0, 1] = table[1, 0] = 0.92
    table[0, 0] = table[1, 1] = 0.0
    table[2:] = [0.3, 0.3, 0.1, 0.1, 0.1, 0.1]
    # (short enough that some continuation is always allowed: blocking never has to give way)
    settings = DecodeSettings(mode=mode, no_repeat_ngram=n, length=10, seed=3, beam_width=3, num=3)
    _, fin = run(BigramModel(table), settings)
    for hyp in fin.hypotheses:
        seq = (0, *hyp.ids)
        grams = [seq[i : i + n] for i in range(len(seq) - n + 1)]
        assert len(grams) == len(set(grams)), hyp.text
    if mode == "greedy":
        expected = "bac" if n == 2 else "babc"
        assert fin.text.startswith(expected)


# -- stop strings ---------------------------------------------------------------------------


def test_stop_string_excluded_and_never_streamed():
    chunks, fin = run(BigramModel(CYCLE), greedy(length=50, stop=("ca",)), prompt=(2,))
    assert fin.text == "ab" and fin.reason == "stop"
    assert [c.text for c in chunks] == ["a", "b"]  # "c" was held back, then dropped


def test_false_stop_prefix_is_released_in_one_chunk():
    chunks, fin = run(BigramModel(CYCLE), greedy(length=5, stop=("bcx",)), prompt=(2,))
    assert [c.text for c in chunks] == ["a", "bca", "b"]
    assert fin.text == "abcab" and fin.reason == "length"


def test_multi_character_stop_across_chunks():
    chunks, fin = run(BigramModel(CYCLE), greedy(length=50, stop=("bcab", "zz")), prompt=(2,))
    assert fin.text == "a" and [c.text for c in chunks] == ["a"]


def test_sample_stop_cuts_at_first_occurrence():
    table = random_table(3, 2)
    for seed in range(10):
        _, full = run(BigramModel(table), DecodeSettings(mode="sample", length=60, seed=seed))
        _, cut = run(BigramModel(table), DecodeSettings(mode="sample", length=60, seed=seed, stop=("cab",)))
        pos = full.text.find("cab")
        assert cut.text == (full.text if pos < 0 else full.text[:pos])
        assert cut.reason == ("length" if pos < 0 else "stop")


def test_beam_stop_finishes_hypothesis():
    chunks, fin = run(
        BigramModel(CYCLE), DecodeSettings(mode="beam", beam_width=2, length=20, stop=("ca",), num=2), prompt=(2,)
    )
    assert fin.text == "ab" and fin.reason == "stop"
    assert "".join(c.text for c in chunks) == "ab"


# -- live settings --------------------------------------------------------------------------


class HookedModel(BigramModel):
    """Calls ``hook(step_calls)`` inside every step (to change settings mid-search)."""

    def __init__(self, table, hook):
        super().__init__(table)
        self.hook = hook

    def step(self, state, ids):
        out = super().step(state, ids)
        self.hook(self.step_calls)
        return out


def run_live(model, live, switch_after, change, prompt=(0,)):
    """Apply ``change`` to ``live`` once ``switch_after`` characters have been streamed."""
    chunks, fin, seen = [], None, 0
    for event in generate(model, list(prompt), live, CHARS):
        if isinstance(event, Chunk):
            chunks.append(event)
            seen += len(event.text)
            if seen == switch_after:
                live.update(**change)
        elif isinstance(event, Finished):
            fin = event
    return chunks, fin


def test_live_temperature_change_takes_effect_next_character():
    table = random_table(5, 8, concentration=2.0)
    live = LiveSettings(DecodeSettings(mode="sample", temperature=1.0, length=20, seed=5))
    model = BigramModel(table)
    chunks, fin = run_live(model, live, 5, {"temperature": 0.0})
    head = fin.text[:5]
    assert fin.text[5:] == greedy_chain(table, CHARS.index(head[-1]), 15)
    # the same seed without the change samples differently after character 5
    _, unchanged = run(BigramModel(table), DecodeSettings(mode="sample", temperature=1.0, length=20, seed=5))
    assert unchanged.text[:5] == head and unchanged.text != fin.text
    assert model.start_calls == 1


def test_live_switch_sample_to_beam_continues_from_position():
    table = random_table(4, 12)
    live = LiveSettings(DecodeSettings(mode="sample", temperature=1.0, length=12, seed=2))
    model = BigramModel(table)
    chunks, fin = run_live(model, live, 5, {"mode": "beam", "beam_width": 3})
    last = CHARS.index(fin.text[4])
    best, _ = reference_beam(table, last, 7, 3)[0]
    assert fin.text[5:] == text_of(best)
    assert "".join(c.text for c in chunks) == fin.text == fin.hypotheses[0].text
    assert model.start_calls == 1 and max(model.batch_sizes) == 3


def test_live_switch_beam_to_greedy_commits_best_beam():
    table = random_table(4, 21, concentration=0.8)
    live = LiveSettings(DecodeSettings(mode="beam", beam_width=3, length=14))

    def hook(calls):  # step k runs while character k + 1 is chosen
        if calls == 4:
            live.update(mode="greedy")

    model = HookedModel(table, hook)
    chunks, fin = run(model, live)
    best, _ = reference_beam(table, 0, 5, 3)[0]
    assert fin.text == text_of(best) + greedy_chain(table, best[-1], 9)
    assert "".join(c.text for c in chunks) == fin.text
    ends = np.cumsum([len(c.text) for c in chunks]).tolist()
    assert 5 in ends  # the best beam's text is streamed at the switch, before character 6
    assert model.start_calls == 1 and model.batch_sizes[5:] == [1] * 8


@pytest.mark.parametrize("seed", range(12))
def test_random_live_changes_keep_the_stream_consistent(seed):
    rng = np.random.default_rng(seed)
    table = random_table(5, seed, concentration=0.6)
    live = LiveSettings(DecodeSettings(mode="sample", length=60, seed=seed, stop=("dab", "ee"), num=2))

    def poll():  # polled before every step: change something now and then
        if rng.random() < 0.25:
            live.update(
                mode=str(rng.choice(["greedy", "sample", "beam", "sampled-beam"])),
                beam_width=int(rng.integers(1, 4)),
                temperature=float(rng.choice([0.0, 0.5, 1.0])),
                no_repeat_ngram=int(rng.choice([0, 3])),
            )
        return False

    model = BigramModel(table)
    chunks, fin = run(model, live, cancelled=poll)
    assert "".join(c.text for c in chunks) == fin.text == fin.hypotheses[0].text
    assert "dab" not in fin.text and "ee" not in fin.text and len(fin.text) <= 60
    assert model.start_calls == 1
    best = fin.hypotheses[0]
    assert best.logprob == pytest.approx(sequence_logprob(table, 0, best.ids))
    assert sum(lp for c in chunks for lp in c.logprobs) == pytest.approx(best.logprob)


def test_live_length_change_counts_from_the_start():
    live = LiveSettings(DecodeSettings(mode="sample", length=50, seed=0))
    chunks, fin = run_live(BigramModel(CYCLE), live, 3, {"length": 7})
    assert len(fin.text) == 7 and fin.reason == "length"


# -- cancellation and reproducibility -------------------------------------------------------


def polls_then_cancel(n):
    calls = {"n": 0}

    def cancelled():
        calls["n"] += 1
        return calls["n"] > n

    return cancelled


def test_cancel_greedy_flushes_held_text():
    chunks, fin = run(BigramModel(CYCLE), greedy(length=50, stop=("cab",)), prompt=(2,), cancelled=polls_then_cancel(3))
    assert fin.reason == "cancelled" and fin.text == "abc"
    assert [c.text for c in chunks] == ["a", "b", "c"]  # "c" (a possible stop start) flushed


def test_cancel_beam_emits_nothing_more():
    table = random_table(5, 1, concentration=0.5)
    settings = DecodeSettings(mode="beam", beam_width=4, length=40)
    full_chunks, full = run(BigramModel(table), settings)
    chunks, fin = run(BigramModel(table), settings, cancelled=polls_then_cancel(10))
    assert fin.reason == "cancelled"
    assert [c.text for c in chunks] == [c.text for c in full_chunks[: len(chunks)]]
    assert "".join(c.text for c in chunks) == fin.text and len(fin.text) <= 10
    assert full.text.startswith(fin.text) and len(full.text) == 40
    best = fin.hypotheses[0]  # the search as it stood: 10 characters, beyond what was settled
    assert len(best.text) == 10 and best.text.startswith(fin.text)


def test_cancel_before_start():
    chunks, fin = run(BigramModel(CYCLE), greedy(length=10), cancelled=lambda: True)
    assert chunks == [] and fin.text == "" and fin.reason == "cancelled"


@pytest.mark.parametrize("mode", ["sample", "sampled-beam"])
def test_same_seed_same_output(mode):
    table = random_table(5, 0)
    outs = []
    for seed in (7, 7, 8):
        s = DecodeSettings(mode=mode, seed=seed, length=30, beam_width=3, num=3, top_p=0.9)
        outs.append(run(BigramModel(table), LiveSettings(s))[1])
    assert outs[0].text == outs[1].text
    assert [h.text for h in outs[0].hypotheses] == [h.text for h in outs[1].hypotheses]
    assert [h.text for h in outs[0].hypotheses] != [h.text for h in outs[2].hypotheses]


# -- the unknown symbol and live marks ------------------------------------------------------

#: id 0 plays the unknown symbol and is the model's favourite after every character.
UNK_FIRST = np.array([[0.7, 0.1, 0.1, 0.1], [0.6, 0.1, 0.2, 0.1], [0.9, 0.05, 0.03, 0.02], [0.5, 0.2, 0.2, 0.1]])


@pytest.mark.parametrize("mode", ["greedy", "beam", "sampled-beam", "sample"])
@pytest.mark.parametrize("extra", [{}, {"no_repeat_ngram": 1}, {"temperature": 100.0}, {"no_repeat_ngram": 2}])
def test_excluded_id_is_never_generated(mode, extra):
    settings = DecodeSettings(mode=mode, length=30, seed=1, beam_width=3, num=2, **extra)
    for draw_seed in range(3):
        events = list(generate(BigramModel(UNK_FIRST), [1], settings.replace(seed=draw_seed), CHARS, never=[0]))
        fin = events[-1]
        assert isinstance(fin, Finished) and len(fin.text) == 30
        assert all(0 not in h.ids for h in fin.hypotheses) and "a" not in fin.text


def test_a_live_change_is_marked_where_its_text_begins():
    live = LiveSettings(DecodeSettings(mode="greedy", length=12))
    marks, seen = [], 0
    events = []
    for event in generate(BigramModel(CYCLE), [0], live, CHARS):
        events.append(event)
        if isinstance(event, Chunk):
            seen += len(event.text)
            if seen == 4:
                live.update(mode="sample", temperature=0.0, seed=1)
            if seen == 8:
                live.update(length=20)  # not a change of what shapes the text: no mark
        elif isinstance(event, Mark):
            marks.append(event)
    assert [(m.position, m.settings.mode) for m in marks] == [(4, "sample")]
    text = "".join(e.text for e in events if isinstance(e, Chunk))
    assert events[-1].text == text and len(text) == 20


def test_a_switch_out_of_beam_is_marked_after_the_committed_beam():
    table = random_table(4, 21, concentration=0.8)
    live = LiveSettings(DecodeSettings(mode="beam", beam_width=3, length=14))

    def hook(calls):
        if calls == 4:
            live.update(mode="greedy")

    marks = []
    chunks, fin = run(HookedModel(table, hook), live, marks=marks)
    assert [(m.position, m.settings.mode) for m in marks] == [(5, "greedy")]


@pytest.mark.parametrize("seed", range(3))
def test_exhaustive_beam_without_an_excluded_id_is_brute_force_over_the_rest(seed):
    table = random_table(3, seed + 40)
    settings = DecodeSettings(mode="beam", beam_width=81, num=3, length=4)
    events = list(generate(BigramModel(table), [1], settings, CHARS, never=[0]))
    fin = events[-1]
    allowed = [s for s in all_sequences(3, 4) if 0 not in s]
    best = sorted(allowed, key=lambda s: -sequence_logprob(table, 1, s))[:3]
    assert [h.ids for h in fin.hypotheses] == best
    for h in fin.hypotheses:  # scores are the model's own log-probs, not renormalised
        assert h.logprob == pytest.approx(sequence_logprob(table, 1, h.ids))


def test_sampling_without_an_excluded_id_follows_the_renormalised_distribution():
    table = np.array([[0.5, 0.2, 0.3], [0.4, 0.4, 0.2], [0.6, 0.1, 0.3]])
    counts = np.zeros(3)
    for seed in range(3000):
        fin = list(generate(BigramModel(table), [1], DecodeSettings(mode="sample", temperature=1.0, length=1,
                                                                      seed=seed), CHARS, never=[0]))[-1]
        counts[fin.hypotheses[0].ids[0]] += 1
    expected = 3000 * np.array([0.0, 2 / 3, 1 / 3])
    assert counts[0] == 0
    assert ((counts[1:] - expected[1:]) ** 2 / expected[1:]).sum() < 10.83  # chi-square, 1 df, p = 0.001
