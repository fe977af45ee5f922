"""The `Engine` facade: one loaded model, used alike by the CLI, the TUI and tests."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from charlm.data.corpus import DOC_SEPARATOR
from charlm.data.normalize import Normalization
from charlm.data.vocab import Vocabulary
from charlm.engine.scoring import Score, prime_id, score_text
from charlm.engine.settings import DecodeSettings, LiveSettings
from charlm.engine.step import StepModel
from charlm.store import ModelRecord

BACKENDS = ("numpy", "keras")


@dataclass(frozen=True)
class TextScore(Score):
    unknown: int = 0
    unknown_chars: tuple[str, ...] = ()


class Engine:
    """A model ready for completion and scoring.

    Args:
        model: a step model (the numpy runtime, the Keras backend, or a toy in tests).
        vocab: the model's vocabulary.
        normalization: applied to every prompt, as it was to the training text.
        record: the stored model's record, when it came from the store.
    """

    def __init__(
        self,
        model: StepModel,
        vocab: Vocabulary,
        normalization: Normalization | None = None,
        record: ModelRecord | None = None,
    ):
        self.model = model
        self.vocab = vocab
        self.normalization = normalization or Normalization()
        self.record = record
        separator = record.corpus.separator if record is not None else DOC_SEPARATOR
        self.prime_id = prime_id(vocab, separator)  # read before every text

    @classmethod
    def load(cls, name: str | None = None, *, backend: str = "numpy") -> Engine:
        """Load a stored model by name or folder path; None means the newest (or built-in) one.

        Raises:
            ModelNotFoundError, StoreEmptyError, CorruptModelError, ConfigError.
        """
        from charlm import store
        from charlm.errors import ConfigError

        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
        record = store.resolve(name)
        return cls.from_record(record, backend=backend)

    @classmethod
    def from_record(cls, record: ModelRecord, *, backend: str = "numpy") -> Engine:
        """An engine for a record already read from the store (its weights are read here)."""
        from charlm import archs, store

        weights = store.load_weights(record)
        arch = archs.of(record.config.arch)
        if backend == "keras":
            from charlm.tf_quiet import quiet_tensorflow

            quiet_tensorflow()
            model: StepModel = arch.keras_runtime(record.config.arch, weights)
        else:
            model = arch.runtime(record.config.arch, weights)
        return cls(model, record.vocabulary, record.config.normalization, record)

    # -- text <-> ids ---------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        return self.normalization.apply(text)

    def unknown_chars(self, text: str) -> tuple[str, ...]:
        """Characters of ``text`` (after normalisation) the model has never seen."""
        return self.vocab.encode(self.normalize(text)).unknown_chars

    def context_ids(self, text: str) -> np.ndarray:
        """What the model reads for ``text``: the document separator, then the normalised text."""
        ids = self.vocab.encode(self.normalize(text)).ids
        return np.concatenate([np.array([self.prime_id], dtype=np.int32), ids])

    # -- generation -----------------------------------------------------------------------

    def stream(
        self, prompt: str, settings: DecodeSettings | LiveSettings, cancelled: Callable[[], bool] | None = None
    ) -> Iterator:
        """Chunks of the completion as they are decided, then one ``Finished`` event.

        The prompt is normalised like the training text and read after a
        document separator, so an empty prompt begins a fresh document. The
        unknown symbol is never generated. ``Mark`` events show where live
        settings changed; ``Finished.hypotheses`` holds the ``num`` results
        (see :func:`charlm.engine.results.results`).
        """
        from charlm.engine.results import results

        return results(self.model, self.context_ids(prompt), settings, self.vocab.chars,
                       cancelled=cancelled, never=(self.vocab.unk_id,))

    def results(self, prompt: str, settings: DecodeSettings) -> list:
        """The ``settings.num`` results (``Hypothesis``: text, ids, logprob, score), best first.

        What ``charlm --once --num`` prints and the app's "results" setting shows.
        """
        return list(self.generate(prompt, settings).hypotheses)

    def complete(self, prompt: str, settings: DecodeSettings | LiveSettings | None = None) -> Iterator[str]:
        """The completion as streamed text chunks (they concatenate to the final text)."""
        from charlm.engine.stream import Chunk

        for event in self.stream(prompt, settings or DecodeSettings()):
            if isinstance(event, Chunk) and event.text:
                yield event.text

    def generate(self, prompt: str, settings: DecodeSettings | None = None):
        """Run to the end and return the ``Finished`` event (text, hypotheses, reason)."""
        from charlm.engine.stream import Finished

        for event in self.stream(prompt, settings or DecodeSettings()):
            if isinstance(event, Finished):
                return event
        raise RuntimeError("generation ended without a result")

    # -- scoring --------------------------------------------------------------------------

    def next_char_distribution(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` most likely next characters after ``text`` with their probabilities."""
        _, logprobs = self.model.start(self.context_ids(text))
        return self.top_chars(logprobs, k)

    def top_chars(self, logprobs: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` most likely characters of a (vocab,) log-prob vector, most likely first."""
        probs = np.exp(np.asarray(logprobs, dtype=np.float64))
        k = max(1, min(k, len(probs)))
        top = np.argpartition(-probs, k - 1)[:k]
        top = top[np.argsort(-probs[top], kind="stable")]
        return [(self.vocab.chars[i], float(probs[i])) for i in top]

    def score(self, text: str) -> TextScore:
        """Total negative log-likelihood of ``text`` (every character, from a document start)."""
        enc = self.vocab.encode(self.normalize(text))
        base = score_text(self.model, enc.ids, self.prime_id)
        return TextScore(base.nll, base.chars, enc.unknown, enc.unknown_chars)

    def logprob(self, text: str) -> float:
        """Natural-log probability of ``text`` under the model."""
        return -self.score(text).nll

    def perplexity(self, text: str) -> float:
        """exp(total cross-entropy / characters); NaN for an empty text."""
        s = self.score(text)
        return s.perplexity if s.chars else math.nan
