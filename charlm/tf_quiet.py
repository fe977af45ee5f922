"""Import TensorFlow and Keras without their start-up noise on stderr.

What ``import tensorflow`` printed here (TensorFlow 2.21, Keras 3.15, a machine
without a GPU), twice for the first three, once per native library::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:17959.. 11754 port.cc:153] oneDNN custom operations are on. You may see ...
    I0000 00:00:17959.. 11754 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    I0000 00:00:17959.. 11754 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use ...
    To enable the following instructions: AVX2 AVX512F ... rebuild TensorFlow with the appropriate compiler flags.
    E0000 00:00:17959.. 11754 cuda_platform.cc:52] failed call to cuInit: ... (when devices are first listed)

C++ writes these straight to file descriptor 2 before TensorFlow reads any
setting: ``TF_CPP_MIN_LOG_LEVEL`` hides none of the lines before
``absl::InitializeLog()``, whatever its value, and no Python logger sees them.
So :func:`quiet_tensorflow` points file descriptor 2 at a temporary file while
it imports TensorFlow and Keras and lists the devices, then writes back every
line that is not known start-up noise (an import error, a Python warning or a
fatal native message still reaches the user). After that it sets
``TF_CPP_MIN_LOG_LEVEL=2`` (native INFO and WARNING lines off, errors kept;
unless the user set it) and quiets TensorFlow's and absl's Python loggers and
third-party deprecation warnings; charlm's own warnings are untouched.

Call it before the first ``import tensorflow`` or ``import keras`` of a
process (it does those imports itself); it is idempotent and cheap after the
first call. Called after TensorFlow was imported, it can only quiet what
comes later.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: A native log line (glog layout): severity, date, time, thread, file:line] message.
_NATIVE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ [\w.-]+:\d+\] (.*)$")
#: Native ERROR lines that only say there is no GPU, or that a plugin registered twice.
_KNOWN_ERRORS = re.compile(
    r"failed call to cuInit|Could not find cuda drivers|Unable to register cu\w+ factory"
    r"|Attempting to register factory for plugin|TF-TRT Warning"
)
_OTHER_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|^To enable the following instructions: .*compiler flags\.$"
)
#: Modules whose deprecation warnings are about their own internals, not charlm's code.
_THIRD_PARTY = r"(tensorflow|keras|tf_keras|absl|google\.protobuf|h5py|flatbuffers|ml_dtypes|optree)(\.|$)"

_done = False


def is_startup_noise(line: str) -> bool:
    """Whether a line that TensorFlow wrote to stderr at start-up can be hidden.

    Native INFO and WARNING lines, the absl pre-initialisation notice, the
    CPU-instructions notice, and native errors that only mean "no GPU here";
    never a fatal native line, another native error, or anything else.
    """
    line = line.rstrip("\r\n")
    native = _NATIVE.match(line)
    if native:
        severity, message = native.groups()
        return severity in "IW" or (severity == "E" and _KNOWN_ERRORS.search(message) is not None)
    return _OTHER_NOISE.match(line) is not None


@contextmanager
def filtered_stderr() -> Iterator[None]:
    """Hold what is written to file descriptor 2 (C++ included), then write back all but start-up noise.

    Without a usable descriptor 2 (closed stderr) nothing is held.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_startup_noise(line)]
            if kept and sys.stderr is not None:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow() -> None:
    """Import TensorFlow and Keras now, without their start-up lines on stderr (see the module docstring)."""
    global _done
    if _done:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        import keras  # noqa: F401 - imported here so that its start-up output is filtered
        import tensorflow as tf

        tf.config.list_physical_devices()  # initialises CUDA, which complains when there is none
    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
    except ImportError:  # absl comes with TensorFlow; nothing to quiet without it
        pass
    else:
        absl_logging.set_verbosity(absl_logging.ERROR)
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=_THIRD_PARTY)
    _done = True
