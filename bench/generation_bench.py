"""Generation benchmark: the engine against the seed study's approach, same model, same process.

The seed re-encodes a 100-character window and calls ``model.predict`` for
every generated character (and for every beam). The engine reads the prompt
once and advances all beams by one batched numpy step per character.

Prints characters per second for each decoding mode, the speed-up over the
seed's approach, whether greedy outputs are identical, and the wall time of a
cold ``charlm --once`` of 200 characters against a bare ``import tensorflow``, and
``charlm --once`` reading a long prompt from stdin (``--long-prompt-mb``, the
prompt repeated to that size): its wall time and peak RSS.

Usage: python bench/generation_bench.py [MODEL] [--prompt TEXT] [--long-prompt-mb 1]
Run by hand; CI never runs it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

WINDOW = 100


def engine_speed(engine, prompt: str, mode: str, length: int) -> tuple[float, str]:
    from charlm.engine import DecodeSettings

    settings = DecodeSettings(mode=mode, length=length, beam_width=5, seed=0, temperature=0.8)
    start = time.perf_counter()
    text = engine.generate(prompt, settings).text
    return len(text) / (time.perf_counter() - start), text


class SeedApproach:
    """``model.predict`` on the re-encoded window, once per character and per beam."""

    def __init__(self, record, weights):
        from charlm import archs
        from charlm.archs.base import set_named_weights

        self.model = archs.of(record.config.arch).build_keras(record.config.arch, len(record.vocabulary))
        set_named_weights(self.model, weights)

    def logprobs(self, ids: list[int]) -> np.ndarray:
        window = np.array([ids[-WINDOW:]], dtype=np.int32)
        logits = self.model.predict(window, verbose=0)[0, -1].astype(np.float64)
        logits -= logits.max()
        return logits - np.log(np.exp(logits).sum())

    def greedy(self, context: list[int], length: int) -> tuple[float, list[int]]:
        ids = list(context)
        start = time.perf_counter()
        for _ in range(length):
            ids.append(int(np.argmax(self.logprobs(ids))))
        return length / (time.perf_counter() - start), ids[len(context) :]

    def beam(self, context: list[int], length: int, width: int = 5) -> float:
        beams = [(list(context), 0.0)]
        start = time.perf_counter()
        for _ in range(length):
            candidates = []
            for ids, score in beams:
                lp = self.logprobs(ids)
                for i in np.argsort(lp)[-width:]:
                    candidates.append((ids + [int(i)], score + lp[i]))
            beams = sorted(candidates, key=lambda c: c[1], reverse=True)[:width]
        return length / (time.perf_counter() - start)


def cold_start(args: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        times.append(time.perf_counter() - start)
    return min(times)


def long_prompt(args: list[str], prompt: str, megabytes: float) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``charlm --once`` reading ``megabytes`` of prompt on stdin.
    Run before any other child process: the peak RSS read back is the largest of all children's."""
    chars = int(megabytes * 1_000_000)  # characters: bytes too for an ASCII prompt
    text = (prompt * (chars // len(prompt) + 1))[:chars].encode()
    start = time.perf_counter()
    subprocess.run(args, input=text, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=None, help="model name or folder (default: newest/built-in)")
    parser.add_argument("--prompt", default="la verdad es que ")
    parser.add_argument("--length", type=int, default=2000, help="characters per engine run")
    parser.add_argument("--seed-length", type=int, default=20, help="characters per seed-approach run")
    parser.add_argument("--long-prompt-mb", type=float, default=1.0, help="size of the long prompt on stdin")
    args = parser.parse_args()

    from charlm import store
    from charlm.engine import Engine

    engine = Engine.load(args.model)
    record = engine.record
    print(f"model {record.name}: {record.label}, {record.params:,} parameters")
    model_option = ["--model", args.model] if args.model else []
    once_args = [sys.executable, "-m", "charlm", "--once", "-n", "80", "--mode", "greedy", *model_option]
    seconds, peak = long_prompt(once_args, args.prompt, args.long_prompt_mb)
    print(f"`charlm --once` with a {args.long_prompt_mb:g} MB prompt on stdin: {seconds:.1f} s, peak RSS {peak:.0f} MB")
    engine.generate(args.prompt, None)  # warm up

    # The engine first: TensorFlow's thread pools, once started, compete with it.
    measured = {}
    for mode in ("greedy", "beam", "sampled-beam", "sample"):
        length = args.length if mode in ("greedy", "sample") else args.length // 4
        speeds = [engine_speed(engine, args.prompt, mode, length) for _ in range(3)]
        measured[mode] = (statistics.median(s for s, _ in speeds), speeds[0][1])

    seed = SeedApproach(record, store.load_weights(record))
    context = [int(i) for i in engine.context_ids(args.prompt)]
    seed.greedy(context, 2)  # warm up predict
    seed_greedy, seed_ids = seed.greedy(context, args.seed_length)
    seed_beam = seed.beam(context, max(args.seed_length // 4, 3))

    rows = []
    for mode, (cps, _text) in measured.items():
        baseline = seed_greedy if mode in ("greedy", "sample") else seed_beam
        rows.append((mode + ("-5" if "beam" in mode else ""), cps, baseline, cps / baseline))
    same = measured["greedy"][1][: args.seed_length] == engine.vocab.decode(seed_ids)
    print()
    print(f"{'mode':16} {'engine chars/s':>15} {'seed chars/s':>13} {'speed-up':>10}")
    for mode, cps, base, ratio in rows:
        print(f"{mode:16} {cps:>15,.0f} {base:>13.1f} {ratio:>9,.0f}x")
    print(f"greedy output identical to the seed approach over {args.seed_length} characters: {same}")

    once = cold_start([sys.executable, "-m", "charlm", "--once", args.prompt, "-n", "200", "--mode", "greedy",
                       *model_option])
    tf = cold_start([sys.executable, "-c", "import tensorflow"])
    print(f"cold `charlm --once` (200 chars): {once:.2f}s; bare `import tensorflow`: {tf:.2f}s; ratio {once / tf:.3f}")


if __name__ == "__main__":
    main()
