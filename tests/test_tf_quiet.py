"""`charlm-train fit` shows no TensorFlow or absl start-up lines; real problems still show."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from charlm.tf_quiet import filtered_stderr, is_startup_noise
from tests.conftest import dialogue_lines, write_srt

#: What TensorFlow 2.21 printed at start-up on a machine without a GPU.
MEASURED_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1795961478.310408   11429 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different computation "
    "orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n",
    "I0000 00:00:1795961478.310736   11429 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.\n",
    "I0000 00:00:1795961478.396739   11429 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to "
    "use available CPU instructions in performance-critical operations.\n",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.\n",
    "E0000 00:00:1795961488.160230   11433 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n",
    "E0000 00:00:1711000000.000000   1234 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to "
    "register factory for plugin cuDNN when one has already been registered\n",
    "W0000 00:00:1711000000.000000   1234 gpu_device.cc:2256] Cannot dlopen some GPU libraries.\n",
]
KEPT = [
    "F0000 00:00:1711000000.000000   1234 stream_executor.cc:42] Check failed: something fatal\n",
    "E0000 00:00:1711000000.000000   1234 op_kernel.cc:1800] OP_REQUIRES failed at conv_ops.cc:1: out of memory\n",
    "Traceback (most recent call last):\n",
    "ImportError: libcudart.so.12: cannot open shared object file\n",
    "/x/charlm/data/corpus.py:1: UserWarning: a warning of charlm's own\n",
]


@pytest.mark.parametrize("line", MEASURED_NOISE)
def test_measured_start_up_lines_are_noise(line):
    assert is_startup_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_fatal_lines_unknown_errors_and_python_output_are_kept(line):
    assert not is_startup_noise(line)


def test_filtered_stderr_holds_native_writes_and_gives_back_the_rest(capfd):
    with filtered_stderr():
        for line in MEASURED_NOISE + KEPT:
            os.write(2, line.encode())
    assert capfd.readouterr().err == "".join(KEPT)


def test_filtered_stderr_gives_back_output_when_the_import_fails(capfd):
    with pytest.raises(ImportError), filtered_stderr():
        os.write(2, b"loading...\n")
        raise ImportError("no tensorflow")
    assert capfd.readouterr().err == "loading...\n"


FIT = """
import warnings
from charlm.tf_quiet import quiet_tensorflow

quiet_tensorflow()  # where the trainer calls it, before its first TensorFlow import
warnings.warn("charlm's own warning")
from charlm.trainer.cli import main

main()
"""


def test_a_real_fit_prints_no_start_up_noise(tmp_path):
    corpus = write_srt(tmp_path / "tiny.srt", dialogue_lines(200))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}  # as a user runs it
    args = [
        "fit",
        str(corpus),
        "--epochs",
        "1",
        "--units",
        "8",
        "--embedding",
        "4",
        "--seq-length",
        "16",
        "--batch-size",
        "8",
    ]
    result = subprocess.run([sys.executable, "-c", FIT, *args], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "<string>:6: UserWarning: charlm's own warning\n"
    assert "val perplexity" in result.stdout
    assert "warning" not in result.stdout.lower()
