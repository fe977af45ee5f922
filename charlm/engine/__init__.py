"""Step-wise inference, decoding strategies and the `Engine` facade (no TensorFlow)."""

from charlm.engine.engine import Engine
from charlm.engine.settings import MODES, DecodeSettings, LiveSettings

__all__ = ["MODES", "DecodeSettings", "Engine", "LiveSettings"]
