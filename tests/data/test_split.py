"""Leak-free train/validation split: a contiguous tail, by documents or characters."""

from __future__ import annotations

import math

import pytest

from charlm.data.corpus import DOC_SEPARATOR, Corpus, load_corpus
from charlm.data.normalize import Normalization
from charlm.data.split import MIN_DOCUMENTS, MIN_VAL_CHARS, split_corpus
from charlm.errors import ConfigError, CorpusError


def corpus_of(docs):
    return Corpus(tuple(docs), ("test",), Normalization())


def numbered_docs(n, width=9):
    """n distinct documents of exactly ``width`` characters: 'doc 0000', ..."""
    return [f"doc {i:0{width - 4}d}" for i in range(n)]


def test_constants():
    assert MIN_DOCUMENTS == 20
    assert MIN_VAL_CHARS == 16
    assert DOC_SEPARATOR == "\n"


def test_split_by_documents_takes_the_tail():
    docs = numbered_docs(30)  # 30 * 9 chars + 29 separators = 299 chars
    corpus = corpus_of(docs)
    assert len(corpus.text) == 299
    split = split_corpus(corpus, 0.2, min_train_chars=10)
    # target 59.8 chars: 6 documents (6 * (9 + 1) = 60) make the tail.
    assert split.by == "documents"
    assert split.val == "\n".join(docs[24:])
    assert split.train == "\n".join(docs[:24])
    assert len(split.val) == 59
    assert split.train + DOC_SEPARATOR + split.val == corpus.text


def test_exactly_min_documents_splits_by_documents():
    corpus = corpus_of(numbered_docs(MIN_DOCUMENTS))
    split = split_corpus(corpus, 0.1, min_train_chars=10)
    assert split.by == "documents"
    # 20 * 9 + 19 = 199 chars, target 19.9: two documents.
    assert split.val == "doc 00018\ndoc 00019"
    assert split.train + "\n" + split.val == corpus.text


def test_fewer_than_min_documents_splits_by_characters():
    docs = numbered_docs(MIN_DOCUMENTS - 1)  # 19 * 9 + 18 = 189 chars
    corpus = corpus_of(docs)
    split = split_corpus(corpus, 0.1, min_train_chars=10)
    assert split.by == "characters"
    # round(18.9) = 19 characters of tail, cutting into a document.
    assert split.val == "doc 00017\ndoc 00018"
    assert split.train == corpus.text[:170]
    assert split.train + split.val == corpus.text


def test_single_long_document_splits_by_characters():
    text = "abcdefghij" * 20
    corpus = corpus_of([text])
    split = split_corpus(corpus, 0.25, min_train_chars=100)
    assert split.by == "characters"
    assert split.train == text[:150]
    assert split.val == text[150:]
    assert len(split.val) == 50


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2, 0.3, 0.5])
def test_validation_is_about_val_fraction_by_documents(fraction):
    # Documents of varying lengths, 4..23 characters.
    docs = ["x" * (4 + (i * 7) % 20) for i in range(200)]
    corpus = corpus_of(docs)
    total = len(corpus.text)
    split = split_corpus(corpus, fraction, min_train_chars=10)
    assert split.by == "documents"
    assert split.train + "\n" + split.val == corpus.text
    # The tail is the fewest trailing documents reaching the target: it overshoots
    # by less than one document plus its separator.
    assert len(split.val) + 1 >= fraction * total
    assert len(split.val) + 1 - 24 < fraction * total


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2, 0.5])
def test_validation_is_val_fraction_by_characters(fraction):
    corpus = corpus_of(["la casa azul. " * 30])
    total = len(corpus.text)
    split = split_corpus(corpus, fraction, min_train_chars=10)
    assert split.by == "characters"
    assert len(split.val) == round(fraction * total)
    assert split.train + split.val == corpus.text


def test_train_keeps_at_least_one_document():
    docs = numbered_docs(25)
    corpus = corpus_of(docs)
    split = split_corpus(corpus, 0.99, min_train_chars=5)
    assert split.train == docs[0]
    assert split.val == "\n".join(docs[1:])


def test_split_of_a_loaded_subtitle_file(tmp_path):
    cues = [f"line number {i}, said twice" for i in range(40)]
    srt = "".join(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},500\n{cue}\n\n" for i, cue in enumerate(cues))
    path = tmp_path / "film.srt"
    path.write_text(srt, encoding="utf-8")
    corpus = load_corpus([path])
    split = split_corpus(corpus, 0.1, min_train_chars=50)
    assert split.by == "documents"
    # Cues are joined by a space (as the seed study reads subtitles): whole cues on each side.
    assert corpus.separator == " "
    assert split.val == " ".join(cues[-4:])
    assert split.train == " ".join(cues[:-4])


def test_train_and_val_are_disjoint_spans_of_the_text():
    corpus = corpus_of(numbered_docs(50))
    split = split_corpus(corpus, 0.2, min_train_chars=10)
    assert corpus.text.startswith(split.train)
    assert corpus.text.endswith(split.val)
    assert len(split.train) + len(DOC_SEPARATOR) + len(split.val) == len(corpus.text)
    train_docs = set(split.train.split("\n"))
    val_docs = set(split.val.split("\n"))
    assert train_docs.isdisjoint(val_docs)


def test_too_short_for_validation_raises():
    corpus = corpus_of(["abcdefghijklmnopqrstuvwxyz0123456789"])  # 36 chars
    with pytest.raises(CorpusError, match="too short"):
        split_corpus(corpus, 0.1, min_train_chars=1)  # tail of 4 < 16


def test_too_short_for_training_raises():
    corpus = corpus_of(["a" * 200])
    with pytest.raises(CorpusError, match="too short") as info:
        split_corpus(corpus, 0.2, min_train_chars=161)  # train is 160
    assert "200 characters" in str(info.value)
    assert "161" in str(info.value)


def test_just_long_enough_passes():
    corpus = corpus_of(["a" * 200])
    split = split_corpus(corpus, 0.2, min_train_chars=160)
    assert len(split.train) == 160
    assert len(split.val) == 40


def test_too_short_by_documents_raises():
    corpus = corpus_of(["ab"] * 30)  # 89 chars, tail of 0.1 is 3 documents = 8 chars
    with pytest.raises(CorpusError, match="too short"):
        split_corpus(corpus, 0.1, min_train_chars=2)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_bad_val_fraction_raises_config_error(fraction):
    corpus = corpus_of(numbered_docs(30))
    with pytest.raises(ConfigError, match="val_fraction"):
        split_corpus(corpus, fraction, min_train_chars=1)
