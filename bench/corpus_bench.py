"""Big-corpus benchmark: loading, encoding, one epoch of batches, and validation.

Builds texts of ``--size-mb`` MB (default 100) and ``--val-size-mb`` MB (default
10) by repeating CORPUS (a file or a folder, read byte-exact) in a temporary
folder, then measures, each in a fresh subprocess so that its peak RSS
(``resource.getrusage(...).ru_maxrss``) is its own:

* load_corpus (default normalisation, as ``charlm-train fit``), the
  vocabulary, the split and the encoding of the big text -- and, on the
  validation-sized text, the per-character encoding charlm used before;
* one epoch of training batches (default seq-length 64, batch 16): drawing
  it, then making every batch -- and the epoch copied whole, as before;
* the exact perplexity of the validation-sized text's held-out last 10% under
  the default LSTM with random weights, and under the built-in trained model:
  one stream (``score_ids``) against parallel streams (``score_streams``).

Usage: python bench/corpus_bench.py CORPUS [--size-mb 100] [--val-size-mb 10] [--repeat 3]
Timings are medians of ``--repeat`` runs. Run by hand; CI never runs it. The
temporary folder is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MB = 1_000_000
SEQ_LENGTH, BATCH_SIZE = 64, 16  # charlm-train fit's defaults


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build_text(corpus: str, size_mb: float, out: Path) -> Path:
    """CORPUS's text (byte-exact) repeated into one UTF-8 file of about ``size_mb`` MB."""
    from charlm.data import load_corpus
    from charlm.data.normalize import Normalization

    text = load_corpus([corpus], Normalization.exact()).text
    unit = (text.rstrip("\n") + "\n\n").encode("utf-8")
    copies, rest = divmod(int(size_mb * MB), len(unit))
    tail = unit[:rest].decode("utf-8", "ignore")
    with open(out, "w", encoding="utf-8") as f:
        for _ in range(copies):
            f.write(unit.decode("utf-8"))
        f.write(tail[: tail.rfind("\n") + 1] if "\n" in tail else "")
    return out


# -- measurements, each run in its own subprocess -------------------------------------------

def measure_baseline(_: dict) -> dict:
    import charlm.data.batching  # noqa: F401
    import charlm.data.corpus  # noqa: F401

    return {}


def measure_load(args: dict) -> dict:
    """load_corpus + Vocabulary + split + encode; saves the train ids for the batch measurements."""
    from charlm.data import load_corpus, split_corpus
    from charlm.data.vocab import Vocabulary

    out: dict = {}
    t0 = time.perf_counter()
    corpus = load_corpus([args["path"]])
    text = corpus.text
    out["load_s"], out["load_rss_mb"] = time.perf_counter() - t0, peak_rss_mb()
    t0 = time.perf_counter()
    vocab = Vocabulary.from_text(text)
    out["vocab_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    split = split_corpus(corpus, 0.1, min_train_chars=SEQ_LENGTH + 1)
    out["split_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    train, val = vocab.encode(split.train).ids, vocab.encode(split.val).ids
    out["encode_s"] = time.perf_counter() - t0
    out.update(chars=len(text), documents=len(corpus.documents), vocab=len(vocab), dtype=str(train.dtype),
               text_bytes_per_char=sys.getsizeof(text) / max(len(text), 1), ids_mb=(train.nbytes + val.nbytes) / MB)
    if args.get("save"):
        np.save(args["save"], train)
    return out


def measure_encode_before(args: dict) -> dict:
    """The per-character encoding charlm used before (np.fromiter over a dict lookup)."""
    from charlm.data import load_corpus
    from charlm.data.vocab import Vocabulary

    text = load_corpus([args["path"]]).text
    index = {c: i for i, c in enumerate(Vocabulary(set(text)).chars)}
    t0 = time.perf_counter()
    np.fromiter((index.get(c, 0) for c in text), dtype=np.int32, count=len(text))
    return {"encode_s": time.perf_counter() - t0, "chars": len(text)}


def measure_batches(args: dict) -> dict:
    from charlm.data.batching import epoch_batches

    ids = np.load(args["ids"])
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    batches = epoch_batches(ids, SEQ_LENGTH, BATCH_SIZE, np.random.default_rng(0))
    draw = time.perf_counter() - t0
    targets = 0
    for _, y in batches:
        targets += y.size
    return {"draw_s": draw, "epoch_s": time.perf_counter() - t0, "batches": len(batches), "targets": targets,
            "extra_rss_mb": peak_rss_mb() - rss0}


def measure_batches_before(args: dict) -> dict:
    """The epoch as charlm made it before: int32 ids, every chunk copied, then sliced."""
    ids = np.load(args["ids"]).astype(np.int32)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    n = len(ids)
    offset = int(rng.integers(0, min(SEQ_LENGTH, n - SEQ_LENGTH - 1) + 1))
    starts = offset + SEQ_LENGTH * np.arange((n - offset - 1) // SEQ_LENGTH)
    rng.shuffle(starts)
    chunks = ids[starts[:, None] + np.arange(SEQ_LENGTH + 1)]
    batches = [chunks[b * BATCH_SIZE : (b + 1) * BATCH_SIZE] for b in range(max(len(chunks) // BATCH_SIZE, 1))]
    batches = [(c[:, :-1], c[:, 1:]) for c in batches]
    return {"epoch_s": time.perf_counter() - t0, "batches": len(batches), "extra_rss_mb": peak_rss_mb() - rss0}


def measure_validation(args: dict) -> dict:
    """Single stream against parallel streams on the held-out 10% of ``path``."""
    from charlm import archs
    from charlm.data import load_corpus, split_corpus
    from charlm.data.vocab import Vocabulary
    from charlm.engine.scoring import prime_id, score_ids, score_streams, stream_count

    corpus = load_corpus([args["path"]])
    split = split_corpus(corpus, 0.1, min_train_chars=SEQ_LENGTH + 1)
    if args["model"] == "trained":
        from charlm import store
        from charlm.engine import Engine

        engine = Engine.from_record(store.builtin_record())  # an LSTM 1x192 trained on its sample corpus
        runtime, vocab, prime = engine.model, engine.vocab, engine.prime_id
    else:
        arch = archs.get("lstm")
        config = arch.config()
        vocab = Vocabulary.from_text(corpus.text)
        rng = np.random.default_rng(0)
        weights = {k: (rng.normal(size=s) * 0.1).astype(np.float32) for k, s in arch.layout(config, len(vocab)).items()}
        runtime, prime = arch.runtime(config, weights), prime_id(vocab, corpus.separator)
    ids = vocab.encode(split.val).ids
    score = score_streams if args["how"] == "streams" else score_ids
    times, result = [], None
    for _ in range(args["repeat"]):
        t0 = time.perf_counter()
        result = score(runtime, ids, prime)
        times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times), "times": times, "perplexity": result.perplexity,
            "chars": len(ids), "streams": stream_count(len(ids)) if args["how"] == "streams" else 1}


MEASURES = {f.__name__.removeprefix("measure_"): f for f in (
    measure_baseline, measure_load, measure_encode_before, measure_batches, measure_batches_before,
    measure_validation)}


def child(name: str, args: dict) -> dict:
    """Run one measurement in a fresh interpreter; its result plus its own peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, __file__, "--child", name, json.dumps(args)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def repeated(name: str, args: dict, repeat: int, key: str) -> dict:
    """The run with the median ``key`` of ``repeat`` subprocess runs, with every value of ``key``."""
    runs = sorted((child(name, args) for _ in range(repeat)), key=lambda r: r[key])
    return {**runs[len(runs) // 2], key + "_all": [round(r[key], 3) for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="a corpus file or folder (repeated to the sizes below)")
    parser.add_argument("--size-mb", type=float, default=100.0, help="big text for loading and batches")
    parser.add_argument("--val-size-mb", type=float, default=10.0, help="text whose last 10%% is validated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="charlm-corpus-bench-"))
    try:
        big = build_text(args.corpus, args.size_mb, folder / "big.txt")
        small = build_text(args.corpus, args.val_size_mb, folder / "small.txt")
        ids_file = str(folder / "train_ids.npy")
        rep = args.repeat
        res = {"uptime": os.getloadavg(), "baseline": child("baseline", {})}
        res["load"] = repeated("load", {"path": str(big), "save": ids_file}, rep, "encode_s")
        res["load_small"] = child("load", {"path": str(small)})
        res["encode_before_small"] = repeated("encode_before", {"path": str(small)}, rep, "encode_s")
        res["batches"] = repeated("batches", {"ids": ids_file}, rep, "epoch_s")
        res["batches_before"] = repeated("batches_before", {"ids": ids_file}, rep, "epoch_s")
        for model in ("random", "trained"):
            for how in ("single", "streams"):
                res[f"val_{model}_{how}"] = child("validation", {"path": str(small), "model": model, "how": how,
                                                                 "repeat": rep})
        res["uptime_end"] = os.getloadavg()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(res, indent=1))
    report(res, args)


def report(res: dict, args: argparse.Namespace) -> None:
    base = res["baseline"]["rss_mb"]
    ld, lds, before = res["load"], res["load_small"], res["encode_before_small"]
    print(f"\nload average at start {res['uptime'][0]:.2f}, at end {res['uptime_end'][0]:.2f} (2 cores shared)")
    print(f"big text: {ld['chars'] / MB:.1f} M chars, {ld['documents']:,} documents, vocab {ld['vocab']} "
          f"({ld['dtype']} ids), {ld['text_bytes_per_char']:.2f} bytes/char as a str")
    print(f"\n| step ({args.size_mb:g} MB) | seconds | peak RSS MB (baseline {base:.0f}) |")
    print("| --- | ---: | ---: |")
    print(f"| load_corpus (read, sanitise, normalise, join) | {ld['load_s']:.2f} | {ld['load_rss_mb']:.0f} |")
    print(f"| Vocabulary.from_text | {ld['vocab_s']:.2f} | |")
    print(f"| split_corpus | {ld['split_s']:.2f} | |")
    print(f"| encode train + val (median of {ld['encode_s_all']}) | {ld['encode_s']:.2f} | {ld['rss_mb']:.0f} |")
    scale = ld["chars"] / before["chars"]
    print(f"| encode before, per character ({before['chars'] / MB:.1f} M chars: {before['encode_s']:.2f} s, "
          f"x{scale:.1f}) | ~{before['encode_s'] * scale:.1f} | |")
    b, bb = res["batches"], res["batches_before"]
    print(f"| one epoch, lazy: draw {b['draw_s']:.3f} s, make all {b['batches']:,} batches | {b['epoch_s']:.2f} | "
          f"+{b['extra_rss_mb']:.0f} |")
    print(f"| one epoch, before (copied whole, int32) | {bb['epoch_s']:.2f} | +{bb['extra_rss_mb']:.0f} |")
    print(f"\n| validation of {res['val_random_single']['chars'] / MB:.2f} M chars ({lds['chars'] / MB:.0f} M text's "
          f"last 10%) | single s | streams s | streams | perplexity single | streams | rel. diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for model, label in (("random", "LSTM 1x192, random weights"), ("trained", "built-in trained LSTM 1x192")):
        s, p = res[f"val_{model}_single"], res[f"val_{model}_streams"]
        diff = p["perplexity"] / s["perplexity"] - 1
        print(f"| {label} | {s['seconds']:.1f} | {p['seconds']:.1f} | {p['streams']} | {s['perplexity']:.4f} | "
              f"{p['perplexity']:.4f} | {diff:+.2e} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        result = MEASURES[sys.argv[2]](json.loads(sys.argv[3]))
        print(json.dumps({**result, "rss_mb": peak_rss_mb()}))
    else:
        main()
