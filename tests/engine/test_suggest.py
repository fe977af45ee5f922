"""Suggestions as you type: the model's continuation to the end of a few words, from a cached prompt.

The toy model is a bigram chain whose greedy path cycles through
``"abc deabc deabc ..."``; a few side branches test the unknown symbol, line
breaks and where beam search and greedy disagree. Every expectation can be
read off the table below.
"""

from __future__ import annotations

import numpy as np
import pytest

from charlm.data.normalize import Normalization
from charlm.data.vocab import UNK, Vocabulary
from charlm.engine.engine import Engine
from charlm.engine.prefix import PrefixCache
from charlm.engine.settings import DecodeSettings
from charlm.engine.suggest import last_word_end, suggest, suggestion_settings, word_end

from .toy import BigramModel

CHARS = " .abcdepqrsxyz\n"
#: The likeliest characters after each one (everything else shares what is left).
CHAIN = {
    "a": {"b": 0.6}, "b": {"c": 0.6}, "c": {" ": 0.6}, " ": {"d": 0.6}, "d": {"e": 0.6}, "e": {"a": 0.6},
    # After x the unknown symbol is likeliest, then y; y, z end the line.
    "x": {UNK: 0.7, "y": 0.2}, "y": {"z": 0.6}, "z": {"\n": 0.6},
    # Greedy takes q (0.45), whose best follower is weak; beam search finds r s (0.4 * 0.95).
    "p": {"q": 0.45, "r": 0.4}, "q": {" ": 0.34, "a": 0.33, "b": 0.3}, "r": {"s": 0.95}, "s": {" ": 0.9},
}
GREEDY = DecodeSettings(mode="greedy")


def chain_engine() -> Engine:
    vocab = Vocabulary(CHARS)
    index = {c: i for i, c in enumerate(vocab.chars)}
    table = np.full((len(vocab), len(vocab)), 1e-4)
    for prev, nexts in CHAIN.items():
        for char, p in nexts.items():
            table[index[prev], index[char]] = p
    rest = 1 - np.where(table > 1e-4, table, 0).sum(axis=1, keepdims=True)
    table = np.where(table > 1e-4, table, 1e-4 * rest)
    return Engine(BigramModel(table / table.sum(axis=1, keepdims=True)), vocab, Normalization())


@pytest.fixture
def cache() -> PrefixCache:
    return PrefixCache(chain_engine())


@pytest.mark.parametrize(("prompt", "expected"), [
    ("a", "bc deabc deabc"),      # the rest of the word being typed, then two words
    ("abc", " deabc deabc"),      # the word is whole: two more
    ("abc ", "deabc deabc deabc"),  # after a space the next word is the one being typed
    ("x", "yz"),                  # never the unknown symbol; never past a line break
    ("xyz", ""),                  # the model would begin a new line
    ("", ""),                     # nothing typed, nothing suggested
])
def test_greedy_suggestion_runs_to_the_end_of_the_word_and_two_more(cache, prompt, expected):
    assert suggest(cache, prompt, GREEDY) == expected


@pytest.mark.parametrize(("max_chars", "expected"), [
    (9, "bc deabc"),  # "bc deabc " : cut by the length, it ends at the last whole word
    (6, "bc"),
    (2, "bc"),
    (1, "b"),         # a word longer than the cap is cut
    (0, ""),
])
def test_the_length_cap_ends_at_a_whole_word_when_there_is_one(cache, max_chars, expected):
    assert suggest(cache, "a", GREEDY, max_chars=max_chars) == expected


def test_how_many_words_is_a_parameter(cache):
    assert suggest(cache, "a", GREEDY, words=0) == "bc"
    assert suggest(cache, "a", GREEDY, words=1) == "bc deabc"
    assert suggest(cache, "abc", GREEDY, words=0) == ""


def test_beam_suggests_what_beam_search_decodes_and_sampling_the_greedy_path(cache):
    assert suggest(cache, "p", GREEDY) == "q deabc deabc"
    assert suggest(cache, "p", DecodeSettings(mode="beam", beam_width=3)) == "rs deabc deabc"
    for sampling in (DecodeSettings(mode="sample", temperature=2.0),
                     DecodeSettings(mode="sampled-beam", temperature=2.0, beam_width=3)):
        assert suggest(cache, "p", sampling) == "q deabc deabc"


def test_suggestion_settings_keep_what_shapes_a_deterministic_text():
    settings = DecodeSettings(mode="beam", beam_width=7, num=3, no_repeat_ngram=4, stop=("x",))
    s = suggestion_settings(settings, 25)
    assert (s.mode, s.beam_width, s.num, s.length, s.no_repeat_ngram, s.stop) == ("beam", 7, 1, 25, 4, ("x",))
    assert suggestion_settings(DecodeSettings(mode="sample", top_k=3), 10).mode == "greedy"


def test_stop_strings_and_no_repeat_ngram_apply_as_in_a_completion(cache):
    assert suggest(cache, "a", GREEDY.replace(stop=("dea",))) == "bc"
    # No repeated 2-gram: after "c dea" the greedy "b" would repeat the prompt's "ab";
    # the next likeliest (ties go to the lowest id) is the line break, which ends it.
    assert suggest(cache, "ab", GREEDY.replace(no_repeat_ngram=2)) == "c dea"


def test_a_keystroke_costs_one_step_plus_one_per_suggested_character(cache):
    model = cache.engine.model
    assert suggest(cache, "a", GREEDY) == "bc deabc deabc"
    before = model.step_calls
    text = suggest(cache, "ab", GREEDY)
    assert text == "c deabc deabc"
    # One step reads "b"; the suggestion's first character needs none, the next
    # ones one each, and one more shows where the last word ends.
    assert model.step_calls - before == 1 + len(text)
    assert model.start_calls == 1  # the prompt was read once, at the first keystroke


def test_a_cancelled_suggestion_gives_none(cache):
    assert suggest(cache, "a", GREEDY, cancelled=lambda: True) is None
    polls = iter([False] * 3 + [True] * 100)
    assert suggest(cache, "a", GREEDY, cancelled=lambda: next(polls)) is None


def test_position_is_what_the_engine_reads_for_the_prompt(cache):
    engine = cache.engine
    for text in ("abc de", "ab", "ABC  de"):
        at = cache.position(text)
        assert at.ids.tolist() == engine.context_ids(text).tolist()
        _, expected = engine.model.start(engine.context_ids(text))
        np.testing.assert_allclose(at.logprobs, expected)


def test_word_ends():
    assert word_end("a", "bc de fg", 0) == 2
    assert word_end("a", "bc de fg", 1) == 5
    assert word_end("a", "bc de fg", 2) is None
    assert word_end(" ", "  bc", 0) is None
    assert word_end("", "bc\nde", 5) == 2
    assert last_word_end("a", "bc de") == 2
    assert last_word_end(" ", "bcde") is None
