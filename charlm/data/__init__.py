"""Corpus loading, normalisation, vocabulary, leak-free split and batching.

Pure Python and numpy: nothing here imports TensorFlow.
"""

from charlm.data.corpus import Corpus, load_corpus
from charlm.data.normalize import Normalization
from charlm.data.split import Split, split_corpus
from charlm.data.vocab import Vocabulary

__all__ = ["Corpus", "Normalization", "Split", "Vocabulary", "load_corpus", "split_corpus"]
