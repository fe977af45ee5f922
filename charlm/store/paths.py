"""Where the store lives, the files of a model folder, and which names may be used."""

from __future__ import annotations

import os
import re
from pathlib import Path

from charlm.errors import InvalidNameError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
HISTORY_FILE = "history.csv"
BUILTIN_NAME = "default"
MAX_CONFIG_BYTES = 16 * 2**20
MAX_WEIGHTS_BYTES = 4 * 2**30
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
#: Prefixes of the folders a save or a removal leaves while it runs (``.tmp-NAME-xxxxxxxx``).
TEMP, OLD, TRASH = ".tmp-", ".old-", ".trash-"
#: How long reading a name waits for another process that is saving it right now.
READ_WAIT = 10.0


def home() -> Path:
    """The charlm data folder (``CHARLM_HOME`` or the platform's user data dir)."""
    env = os.environ.get("CHARLM_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("charlm"))


def models_dir() -> Path:
    return home() / "models"


def validate_name(name: str) -> str:
    """Reject names that could escape the store or clash with the built-in model."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise InvalidNameError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )
    if name == BUILTIN_NAME:
        raise InvalidNameError(f"the name {BUILTIN_NAME!r} is reserved for the built-in model")
    return name
