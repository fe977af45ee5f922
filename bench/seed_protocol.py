"""The seed notebook's training protocol, as a reference row for ``bench/train_bench.py --seed-protocol``.

One-hot 100-character windows with step 1, one target per window, GRU 128, RMSprop 1e-3, batch 64,
15 epochs (desafio 3), scored on the same leak-free held-out tail with the exact perplexity:
every validation character predicted from the 100 characters before it.
"""

from __future__ import annotations

import math
import time

import numpy as np


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
