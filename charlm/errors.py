"""Named errors, so callers (CLI, TUI, tests) catch what they mean.

Every error here is a user-facing problem: the CLIs turn it into a one-line
message and exit code 2.
"""


class CharlmError(Exception):
    """Base class of every error a user can cause and fix."""


class CorpusError(CharlmError):
    """A corpus is missing, empty, binary, undecodable or too short."""


class ConfigError(CharlmError, ValueError):
    """An option or configuration value is out of range or unknown."""


class ModelNotFoundError(CharlmError, KeyError):
    """No stored model has that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "model not found"


class InvalidNameError(CharlmError, ValueError):
    """A model name that could escape the store folder or is otherwise unusable."""


class CorruptModelError(CharlmError):
    """A stored model's files are missing, malformed or inconsistent."""


class StoreError(CharlmError):
    """The model store cannot be written (read-only folder, a file in the way, disk full)."""


class ModelBusyError(StoreError):
    """Another charlm process is writing a model of that name right now."""


class StoreEmptyError(CharlmError):
    """There is no model to use at all."""


class MissingExtraError(CharlmError):
    """An optional dependency (keras-tuner, matplotlib) is not installed."""
