"""A worker process for the distributed tests: `python -m tests.trainer.distributed_worker MODE ...`.

``step STRATEGY OUT``: one training step on a fixed global batch, weights saved to OUT (.npz);
STRATEGY "single" is one replica given the global batch of a two-replica run.
``fit STRATEGY CORPUS NAME OUT``: a whole tiny `fit`; OUT gets the weights this process ends with
(a non-chief worker's FitFinished weights, or the chief's stored model).
"""

from __future__ import annotations

import sys

import numpy as np

from charlm.trainer.distribute import make_cluster

PER_REPLICA = 4
FIELDS = dict(units=16, embedding=8, dropout=0.0, input_dropout=0.0, seq_length=12)


def step(strategy: str, out: str) -> None:
    from charlm.trainer.loop import Trainer
    from tests.conftest import tiny_config

    cluster = make_cluster("auto" if strategy == "single" else strategy)
    # "single": one process, one replica, with the global batch of the two-replica runs.
    rows = PER_REPLICA * cluster.replicas if strategy != "single" else PER_REPLICA * 2
    config = tiny_config("gru", batch_size=rows // cluster.replicas, **FIELDS)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, size=(rows, 12)).astype("int32")
    y = rng.integers(0, 20, size=(rows, 12)).astype("int32")
    trainer = Trainer(config, 20, cluster)
    trainer.train_batch(x, y)
    np.savez(out, **trainer.weights())


def fit(strategy: str, corpus_path: str, name: str, out: str) -> None:
    from charlm import store
    from charlm.data import load_corpus
    from charlm.trainer.fit import FitFinished
    from charlm.trainer.fit import fit as fit_model
    from tests.conftest import tiny_config

    cluster = make_cluster(strategy)
    config = tiny_config("gru", batch_size=PER_REPLICA, max_epochs=2, patience=0, **FIELDS)
    corpus = load_corpus([corpus_path])
    final = [e for e in fit_model(corpus, config, name, cluster=cluster) if isinstance(e, FitFinished)][-1]
    weights = final.weights if final.record is None else store.load_weights(final.record)
    np.savez(out, **weights)
    print(f"done {final.reason} chief={cluster.is_chief}", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    (step if mode == "step" else fit)(*args)
