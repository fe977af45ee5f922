"""``--log-dir``: TensorBoard scalars of a run, as Keras users expect from the TensorBoard callback.

A sink for the events `fit`, `compare` and `tune` yield: per epoch the training loss, the
exact validation perplexity, the learning rate and the training characters per second, in
``LOG_DIR/<model name>`` (``LOG_DIR/<search name>/trial_<id>`` for a search). Only the chief of a
multi-worker run writes. ``tensorboard --logdir LOG_DIR`` shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charlm.errors import ConfigError


class TensorBoardLog:
    """Writes scalars for the epoch events it is given (a no-op when ``log_dir`` is None)."""

    def __init__(self, log_dir: str | Path | None, run: str = "", enabled: bool = True):
        self.root = Path(log_dir) if log_dir else None
        self.enabled = enabled and self.root is not None
        self.run = run
        self._writers: dict[str, Any] = {}
        if self.enabled:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot write TensorBoard logs to {self.root}: {exc.strerror or exc}") from None

    def _writer(self, run: str):
        if run not in self._writers:
            import tensorflow as tf

            self._writers[run] = tf.summary.create_file_writer(str(self.root / (run or "run")))
        return self._writers[run]

    def scalars(self, run: str, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        import tensorflow as tf

        writer = self._writer(run)
        with writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(key, float(value), step=step)
        writer.flush()

    def __call__(self, event: Any) -> None:
        from charlm.trainer.fit import EpochEnd, FitStarted
        from charlm.trainer.tune import TrialEpoch

        if isinstance(event, FitStarted):
            self.run = event.name
        elif isinstance(event, EpochEnd):
            self.scalars(self.run, event.epoch, {"loss": event.loss, "val_perplexity": event.val_perplexity,
                                                 "learning_rate": event.learning_rate,
                                                 "chars_per_second": event.chars_per_second})
        elif isinstance(event, TrialEpoch):
            self.scalars(f"{self.run}/trial_{event.trial_id}", event.epoch,
                         {"loss": event.loss, "val_perplexity": event.val_perplexity,
                          "learning_rate": event.learning_rate, "chars_per_second": event.chars_per_second})

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


class Tee:
    """Hands every event to several sinks (the rich renderer and the TensorBoard log)."""

    def __init__(self, *sinks: Any):
        self.sinks = sinks

    def __call__(self, event: Any) -> None:
        for sink in self.sinks:
            sink(event)

    def close(self) -> None:
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()

    def __getattr__(self, name: str) -> Any:  # e.g. the renderer's ``finished``
        return getattr(self.sinks[0], name)
