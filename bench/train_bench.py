"""Training benchmark: charlm's default config against the seed study's protocol.

Both are measured on the same leak-free split of CORPUS (the last 10% held out)
and scored with the same exact perplexity, exp(total CE / characters):

* charlm defaults: many-to-many training on contiguous chunks, early stopping.
* the seed protocol: one-hot 100-character windows with step 1, one target per
  window, GRU 128, RMSprop 1e-3, batch 64, 15 epochs (desafio 3 notebook).

Usage: python bench/train_bench.py CORPUS [--seed-epochs N] [--skip-seed] [key=value ...]
Extra key=value pairs override charlm's ModelConfig (e.g. units=128).
Run by hand; CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time

import numpy as np


def charlm_default(corpus_paths: list[str], overrides: dict) -> dict:
    from charlm.data import load_corpus
    from charlm.trainer.config import ModelConfig
    from charlm.trainer.fit import EpochEnd, FitFinished, fit

    config = ModelConfig(**overrides)
    corpus = load_corpus(corpus_paths, config.normalization)
    epochs, started = [], time.perf_counter()
    for event in fit(corpus, config, "bench", force=True):
        if isinstance(event, EpochEnd):
            epochs.append(event.seconds)
            print(
                f"  charlm epoch {event.epoch:3d}  val ppl {event.val_perplexity:.3f}  {event.seconds:.1f}s", flush=True
            )
        elif isinstance(event, FitFinished):
            record = event.record
    return {
        "name": f"charlm defaults ({config.arch} {config.layers}x{config.units})",
        "sec_per_epoch": float(np.mean(epochs)),
        "epochs": len(epochs),
        "train_seconds": time.perf_counter() - started,
        "perplexity": record.val_perplexity,
        "params": record.params,
    }


def seed_protocol(corpus_paths: list[str], epochs: int) -> dict:
    import keras

    from charlm.data import load_corpus
    from charlm.data.split import split_corpus
    from charlm.data.vocab import Vocabulary

    window = 100
    corpus = load_corpus(corpus_paths)
    split = split_corpus(corpus, 0.1, min_train_chars=window + 1)
    vocab = Vocabulary.from_text(corpus.text)
    train = vocab.encode(split.train).ids
    full = vocab.encode(split.train + corpus.separator + split.val).ids
    val_start = len(split.train) + len(corpus.separator)

    starts = np.arange(len(train) - window)
    x = train[starts[:, None] + np.arange(window)]
    y = train[starts + window]
    keras.utils.set_random_seed(42)
    v = len(vocab)
    model = keras.Sequential(
        [
            keras.Input(shape=(window,), dtype="int32"),
            # One-hot input, as the seed's to_categorical, without materialising it.
            keras.layers.Embedding(v, v, embeddings_initializer=keras.initializers.Identity(), trainable=False),
            keras.layers.GRU(128),
            keras.layers.Dense(v),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    times = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, shuffle=True, verbose=0)
        times.append(time.perf_counter() - t)
        print(f"  seed epoch {epoch:3d}  {times[-1]:.1f}s", flush=True)
    train_seconds = time.perf_counter() - started

    # Held-out: every validation character predicted from the 100 characters before it.
    targets = np.arange(max(val_start, window), len(full))
    windows = full[targets[:, None] - window + np.arange(window)]
    logits = model.predict(windows, batch_size=512, verbose=0).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    nll = -logp[np.arange(len(targets)), full[targets]].sum()
    return {
        "name": "seed protocol (one-hot windows, GRU 128)",
        "sec_per_epoch": float(np.mean(times)),
        "epochs": epochs,
        "train_seconds": train_seconds,
        "perplexity": math.exp(nll / len(targets)),
        "params": model.count_params() - v * v,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="+", help="corpus files (key=value pairs override the config)")
    parser.add_argument("--seed-epochs", type=int, default=15)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    paths = [c for c in args.corpus if "=" not in c]
    overrides = {}
    for pair in (c for c in args.corpus if "=" in c):
        key, value = pair.split("=", 1)
        try:
            overrides[key] = json.loads(value)  # numbers, true/false
        except json.JSONDecodeError:
            overrides[key] = value  # strings such as arch=lstm
    os.environ["CHARLM_HOME"] = tempfile.mkdtemp(prefix="charlm-bench-")
    rows = [charlm_default(paths, overrides)]
    if not args.skip_seed:
        rows.append(seed_protocol(paths, args.seed_epochs))
    print()
    print(f"{'setup':44} {'params':>9} {'epochs':>6} {'s/epoch':>8} {'train s':>8} {'held-out ppl':>12}")
    for r in rows:
        print(
            f"{r['name']:44} {r['params']:>9,} {r['epochs']:>6} {r['sec_per_epoch']:>8.1f} "
            f"{r['train_seconds']:>8.1f} {r['perplexity']:>12.3f}"
        )


if __name__ == "__main__":
    main()
