"""Training benchmark: architectures side by side on one corpus, the same split and budget.

Each architecture is an ordinary ``charlm-train fit`` (run as its own process in a throw-away
model store, pinned to one CPU core with ``taskset`` when ``--cores`` is given, so several run
side by side without sharing a core), then measured the same way:

* held-out perplexity: the exact perplexity of the last 10% of CORPUS, never trained on;
* training throughput: characters (targets) per second over all epochs;
* greedy generation: characters per second of the numpy runtime, batch 1;
* with ``--val-file``: the cross-entropy (nats per character) of that file, e.g. the val.txt that
  ../shared/anchors/nanogpt/run.sh writes, to compare with nanoGPT's exact CE.

Usage:
    python bench/train_bench.py CORPUS [--archs rnn,lstm,gru,transformer] [--time-limit 10m]
        [--cores 0,1] [--val-file VAL] [-- extra charlm-train fit options]
    python bench/train_bench.py CORPUS --seed-protocol      # the seed notebook's protocol, for reference

Run by hand; CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fit_process(corpus: list[str], arch: str, extra: list[str], home: Path, core: str | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "charlm.trainer.cli", "fit", *corpus, "--arch", arch, "--name", arch, "--json",
           *extra]
    if core is not None:
        cmd = ["taskset", "-c", core, *cmd]
    env = {**os.environ, "CHARLM_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def measure(arch: str, home: Path, proc: subprocess.Popen, val_file: str | None) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{arch}: fit failed ({proc.returncode}):\n{err[-3000:]}")
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    epochs = [e for e in events if e.get("event") == "epoch"]
    final = events[-1]
    chars = sum(e["chars_per_second"] * e["seconds"] for e in epochs)
    os.environ["CHARLM_HOME"] = str(home)
    from charlm.engine import DecodeSettings, Engine

    engine = Engine.load(arch)
    engine.generate("the ", DecodeSettings(mode="greedy", length=50))  # warm up
    started = time.perf_counter()
    n = len(engine.generate("the ", DecodeSettings(mode="greedy", length=2000)).text)
    gen_rate = n / (time.perf_counter() - started)
    row = {
        "arch": arch,
        "label": final["label"],
        "params": final["params"],
        "epochs": final["epochs"],
        "train_s": final["train_seconds"],
        "stop": final["reason"],
        "val_ppl": final["val_perplexity"],
        "train_chars_s": chars / max(sum(e["seconds"] for e in epochs), 1e-9),
        "greedy_chars_s": gen_rate,
    }
    if val_file:
        from charlm.data import load_corpus

        text = load_corpus([val_file], engine.normalization).text
        score = engine.score(text)
        row["val_file_ce"] = score.nll / score.chars
        row["val_file_ppl"] = math.exp(row["val_file_ce"])
    return row


def print_table(rows: list[dict]) -> None:
    cols = [("model", "label", "{}"), ("params", "params", "{:,}"), ("epochs", "epochs", "{}"),
            ("train s", "train_s", "{:.0f}"), ("stopped by", "stop", "{}"), ("held-out ppl", "val_ppl", "{:.3f}"),
            ("train chars/s", "train_chars_s", "{:,.0f}"), ("greedy chars/s", "greedy_chars_s", "{:,.0f}")]
    if any("val_file_ce" in r for r in rows):
        cols.append(("val-file CE", "val_file_ce", "{:.4f}"))
    cells = [[fmt.format(r[key]) if key in r else "" for _, key, fmt in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _, _) in enumerate(cols)]
    print("  ".join(h.rjust(w) for (h, _, _), w in zip(cols, widths, strict=True)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))


def run_archs(args: argparse.Namespace, extra: list[str]) -> list[dict]:
    archs = args.archs.split(",")
    cores = args.cores.split(",") if args.cores else [None]
    if args.time_limit:
        extra = [*extra, "--time-limit", args.time_limit]
    root = Path(tempfile.mkdtemp(prefix="charlm-bench-"))
    rows: list[dict] = []
    procs: list = []
    try:
        pending = list(archs)
        while pending:
            batch = [(arch, cores[i]) for i, arch in enumerate(pending[: len(cores)])]
            pending = pending[len(cores):]
            procs = []
            for arch, core in batch:
                home = root / arch
                where = f" on core {core}" if core is not None else ""
                print(f"training {arch}{where} ...", flush=True)
                procs.append((arch, home, fit_process(args.corpus, arch, extra, home, core)))
            for arch, home, proc in procs:
                rows.append(measure(arch, home, proc, args.val_file))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        for _, _, proc in procs:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main() -> int:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="+")
    parser.add_argument("--archs", default="lstm")
    parser.add_argument("--time-limit", help="Training budget of each model (e.g. 10m).")
    parser.add_argument("--cores", help="CPU cores to pin the runs to, one run per core at a time (e.g. 0,1).")
    parser.add_argument("--val-file", help="Also score this file (cross-entropy, nats per character).")
    parser.add_argument("--seed-protocol", action="store_true", help="Run the seed notebook's protocol instead.")
    parser.add_argument("--seed-epochs", type=int, default=15)
    args = parser.parse_args(argv)
    if args.seed_protocol:
        from bench.seed_protocol import seed_protocol

        print(json.dumps(seed_protocol(args.corpus, args.seed_epochs)))
        return 0
    rows = run_archs(args, extra)
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
