"""What one training call costs beyond its arithmetic: is it worth running several steps per
``tf.function`` call?

Times :meth:`charlm.trainer.loop.Trainer.train_batch` for a model whose arithmetic is almost
nothing (an LSTM of 2 units on a 1×2 batch: the cost is the call itself, the schedule and the
strategy wrapper) against the default LSTM at the batch sizes ``auto`` picks. The ratio is the
most that fusing steps could save.

Usage:
    taskset -c 0 python bench/step_overhead.py [--arch lstm] [--vocab 80]

Run by hand; CI never runs it.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np  # noqa: E402

from charlm import archs  # noqa: E402
from charlm.config import ModelConfig, TrainConfig  # noqa: E402
from charlm.trainer.loop import Trainer  # noqa: E402


def ms_per_step(arch: str, vocab: int, batch: int, seq: int, steps: int, **sizes: int) -> float:
    config = archs.get(arch).config_cls(**sizes)
    trainer = Trainer(ModelConfig(config, TrainConfig.for_arch(config, batch_size=batch, seq_length=seq)), vocab)
    rng = np.random.default_rng(0)
    x, y = (rng.integers(0, vocab, (batch, seq)).astype(np.int32) for _ in range(2))
    for _ in range(10):  # trace and warm up
        trainer.train_batch(x, y).numpy()
    start = time.perf_counter()
    for _ in range(steps):
        loss = trainer.train_batch(x, y)
    loss.numpy()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="lstm", choices=("rnn", "lstm", "gru"))
    parser.add_argument("--vocab", type=int, default=80)
    args = parser.parse_args()
    call = ms_per_step(args.arch, args.vocab, 1, 2, 500, units=2, embedding=4)
    print(f"{'step':<28}{'ms/step':>9}{'call share':>12}")
    print(f"{'2 units, batch 1x2':<28}{call:>9.2f}{'':>12}")
    for batch in (16, 32, 64):
        ms = ms_per_step(args.arch, args.vocab, batch, 64, 60)
        print(f"{f'defaults, batch {batch}x64':<28}{ms:>9.1f}{call / ms:>11.1%}")


if __name__ == "__main__":
    main()
