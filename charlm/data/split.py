"""Leak-free train/validation split: validation is a contiguous tail never trained on."""

from __future__ import annotations

from dataclasses import dataclass

from charlm.data.corpus import Corpus
from charlm.errors import ConfigError, CorpusError

#: Below this many documents a document-level split is too coarse; cut by characters.
MIN_DOCUMENTS = 20
#: Validation needs enough characters for a perplexity worth reading.
MIN_VAL_CHARS = 16


@dataclass(frozen=True)
class Split:
    train: str
    val: str
    by: str  # "documents" or "characters"


def split_corpus(corpus: Corpus, val_fraction: float, min_train_chars: int) -> Split:
    """Split off the last ``val_fraction`` of the corpus as validation.

    By whole documents (cues, paragraphs) when there are enough, else by
    characters. Either way the validation text is contiguous and disjoint from
    the training text.

    Raises:
        CorpusError: the corpus is too short for ``min_train_chars`` of training
            text plus a validation tail.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be between 0 and 1 (got {val_fraction})")
    docs = corpus.documents
    sep = corpus.separator
    total = len(corpus.text)
    target = val_fraction * total
    if len(docs) >= MIN_DOCUMENTS:
        size, k = 0, 0
        while k < len(docs) - 1 and size < target:
            k += 1
            size += len(docs[-k]) + len(sep)
        train = sep.join(docs[:-k])
        val = sep.join(docs[-k:])
        by = "documents"
    else:
        cut = total - max(int(round(target)), 1)
        train, val, by = corpus.text[:cut], corpus.text[cut:], "characters"
    if len(train) < min_train_chars or len(val) < MIN_VAL_CHARS:
        raise CorpusError(
            f"the corpus is too short: {total} characters, but training needs at least "
            f"{min_train_chars} plus a validation tail of {val_fraction:.0%} "
            f"(>= {MIN_VAL_CHARS} characters); use a longer corpus or a shorter --seq-length"
        )
    return Split(train, val, by)
