"""Step-wise inference, decoding strategies and the `Engine` facade (no TensorFlow)."""

from charlm.engine.engine import Engine
from charlm.engine.modes import MODES
from charlm.engine.settings import DecodeSettings, LiveSettings

__all__ = ["MODES", "DecodeSettings", "Engine", "LiveSettings"]
