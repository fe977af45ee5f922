"""GPU check: one epoch on CPU and on GPU, MirroredStrategy over the GPUs, numpy/Keras parity.

Usage: python bench/gpu_check.py CORPUS [--arch lstm] [--batch-size 64] [--max-batches N]

1. One epoch of the default model for ``--arch`` on the CPU and on the first GPU (the layers keep
   cuDNN-eligible settings), characters per second for each.
2. The same epoch under ``MirroredStrategy`` over every GPU (``--batch-size`` per replica), with
   the replica count and characters per second.
3. Parity: the GPU-trained weights evaluated by the numpy runtime and by the Keras model on the
   GPU over 200 positions; prints the largest log-probability difference (charlm's tests require
   1e-4 on the CPU).

Prints what it finds and exits 0 on a machine without a GPU (nothing to check). Run by hand;
CI never runs it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_epoch(config, data, cluster, device: str | None, max_batches: int | None) -> tuple[float, object]:
    import numpy as np
    import tensorflow as tf

    from charlm.trainer.loop import Trainer, make_batches

    with tf.device(device) if device else _nullcontext():
        trainer = Trainer(config, len(data.vocab), cluster)
        batches = make_batches(config, data.train_ids, np.random.default_rng(0), trainer.replicas)
        n = min(len(batches), max_batches or len(batches))
        float(trainer.train_batch(*batches[0]))  # trace and compile outside the clock
        started, chars = time.perf_counter(), 0
        for b in range(1, n):
            x, y = batches[b]
            loss = trainer.train_batch(x, y)
            chars += y.size
        float(loss)
        return chars / (time.perf_counter() - started), trainer


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def parity(trainer, config, vocab_size: int) -> float:
    import numpy as np

    from charlm import archs
    from charlm.archs.base import log_softmax

    weights = trainer.weights()
    arch = archs.of(config.arch)
    ids = np.random.default_rng(1).integers(0, vocab_size, size=200)
    expected = log_softmax(np.asarray(trainer.model(ids[None].astype("int32"), training=False))[0])
    _, got = arch.runtime(config.arch, weights).run(ids)
    return float(np.abs(got - expected).max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="+")
    parser.add_argument("--arch", default="lstm")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-batches", type=int, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from charlm.trainer.distribute import make_cluster

    cluster = make_cluster("auto")
    import tensorflow as tf

    from charlm import archs
    from charlm.config import ModelConfig, TrainConfig
    from charlm.data import load_corpus
    from charlm.trainer.loop import prepare

    gpus = tf.config.list_physical_devices("GPU")
    print(f"TensorFlow {tf.__version__}; GPUs: {[g.name for g in gpus] or 'none'}")
    if not gpus:
        print("no GPU visible: nothing to check on this machine")
        return 0
    arch_config = archs.get(args.arch).config()
    config = ModelConfig(arch_config, TrainConfig.for_arch(arch_config, batch_size=args.batch_size))
    corpus = load_corpus(args.corpus, config.normalization)
    data = prepare(corpus, config)
    cpu_rate, _ = one_epoch(config, data, cluster, "/CPU:0", args.max_batches)
    gpu_rate, gpu_trainer = one_epoch(config, data, cluster, "/GPU:0", args.max_batches)
    print(f"one epoch, {config.label}, batch {args.batch_size}: CPU {cpu_rate:,.0f} chars/s, "
          f"GPU {gpu_rate:,.0f} chars/s ({gpu_rate / cpu_rate:.1f}x)")
    import tensorflow as tf  # noqa: F811 - the strategy needs its own context

    mirrored = type(cluster)(tf.distribute.MirroredStrategy(), "mirrored")
    m_rate, _ = one_epoch(config, data, mirrored, None, args.max_batches)
    print(f"MirroredStrategy over {mirrored.replicas} GPU(s), global batch {args.batch_size * mirrored.replicas}: "
          f"{m_rate:,.0f} chars/s")
    diff = parity(gpu_trainer, config, len(data.vocab))
    print(f"parity of the GPU-trained weights, numpy runtime vs Keras on the GPU, 200 positions: "
          f"max |diff| {diff:.2e} ({'ok' if diff <= 1e-4 else 'ABOVE 1e-4'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
