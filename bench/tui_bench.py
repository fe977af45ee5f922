"""Latency of the charlm app as a user feels it, measured through Textual's Pilot.

    python bench/tui_bench.py [MODEL] [--keys 200] [--completions 20]
    python bench/tui_bench.py --synthetic     # a random-weight model of the default size

Figures:
  * keystroke -> next-character panel painted with the new distribution
    (median and p95 over ``--keys`` keystrokes typed one by one into a prompt
    that grows to that length);
  * Enter -> first streamed character painted in the transcript (median, p95).

Targets: median <= 20 ms for the keystroke, <= 50 ms to the first character.
Times run from the moment the key event is handed to the app to the
widget's ``render`` of the new state (``NextChars.painted_at``,
``Entry.first_painted_at``); Pilot's own idle-waiting after each key is not
counted. The model comes from the store (``CHARLM_HOME``), default the newest
or built-in one; ``--synthetic`` builds the default architecture with random
weights in a temporary store, for a machine without a trained model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Typed through Pilot, which has no key for some characters (¿, ¡): plain punctuation only.
TEXT = ("che, vos viste lo que pasó ayer en el centro? no, contame. "
        "había un tipo vendiendo estampillas en la esquina de corrientes y nadie le compraba, "
        "hasta que llegó la mina del kiosco y le compró todas. ")


def synthetic_store() -> str:
    """A temporary CHARLM_HOME holding one default-size model with random weights."""
    import numpy as np

    from charlm import store
    from charlm.data.vocab import Vocabulary
    from charlm.layout import weight_layout
    from charlm.store import CorpusInfo, EpochRecord, ModelRecord
    from charlm.trainer.config import ModelConfig

    home = tempfile.mkdtemp(prefix="charlm-bench-")
    os.environ["CHARLM_HOME"] = home
    config = ModelConfig()
    vocab = Vocabulary.from_text(TEXT + "abcdefghijklmnopqrstuvwxyzáéíóúñü0123456789.,;:!?¡¿-'\"\n")
    rng = np.random.default_rng(0)
    weights = {k: (rng.normal(size=s) * 0.1).astype(np.float32)
               for k, s in weight_layout(config, len(vocab)).items()}
    record = ModelRecord(
        config=config, vocabulary=vocab,
        corpus=CorpusInfo("0" * 16, ("synthetic",), 0, 0, 0, 0, "characters"),
        val_perplexity=float("nan"), best_epoch=0,
        history=(EpochRecord(1, 0.0, float("nan"), 0.0),), train_seconds=0.0,
    )
    store.save_model("synthetic", record, weights)
    return "synthetic"


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"{name:<38} median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   "
            f"max {ms[-1]:6.1f} ms   (n={len(ms)})")


async def measure(model: str | None, keys: int, completions: int) -> None:
    from charlm.engine import Engine
    from charlm.engine.settings import DecodeSettings
    from charlm.tui.app import CharlmApp
    from charlm.tui.screens.main import MainScreen
    from charlm.tui.widgets.next_chars import NextChars

    engine = Engine.load(model)
    label = engine.record.name if engine.record else "?"
    text = (TEXT * (1 + keys // len(TEXT)))[:keys]
    settings = DecodeSettings(mode="sample", length=40, seed=0)
    app = CharlmApp(engine, settings=settings)
    key_ms: list[float] = []
    first_ms: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        panel = screen.query_one(NextChars)
        await pilot.pause(0.2)

        async def until(predicate, timeout: float = 5.0) -> None:
            deadline = time.perf_counter() + timeout
            while not predicate():
                if time.perf_counter() > deadline:
                    raise TimeoutError("the app did not update in time")
                await asyncio.sleep(0.001)

        for char in text:
            before = panel.updates
            t0 = time.perf_counter()
            await pilot.press(char)  # Pilot maps punctuation and spaces to key names
            await until(lambda before=before, t0=t0: panel.updates > before
                        and panel.painted_at >= t0)
            key_ms.append(1000 * (panel.painted_at - t0))

        screen.prompt.set_text("che, ¿qué hacés?")
        await pilot.pause(0.1)
        for _ in range(completions):
            count = len(screen.transcript.entries)
            t0 = time.perf_counter()
            await pilot.press("enter")
            await until(lambda count=count: len(screen.transcript.entries) > count
                        and screen.transcript.last.first_painted_at > 0)
            first_ms.append(1000 * (screen.transcript.last.first_painted_at - t0))
            await until(lambda: not screen.generating, timeout=30)

    print(f"model {label}: {engine.record.config.arch if engine.record else '?'} "
          f"{engine.record.config.layers}x{engine.record.config.units}, "
          f"vocabulary {len(engine.vocab)}")
    print(summary(f"keystroke -> next-char panel ({keys} keys)", key_ms))
    print(summary(f"Enter -> first streamed char ({completions})", first_ms))
    for n in (10, 100, keys):
        prompt = text[:n]
        t0 = time.perf_counter()
        for _ in range(20):
            engine.next_char_distribution(prompt, 30)
        print(f"  engine.next_char_distribution, {n:4d}-char prompt: "
              f"{1000 * (time.perf_counter() - t0) / 20:6.2f} ms")
    ok_key = statistics.median(key_ms) <= 20
    ok_first = statistics.median(first_ms) <= 50
    print(f"targets: keystroke median <= 20 ms {'OK' if ok_key else 'MISSED'}; "
          f"first char <= 50 ms {'OK' if ok_first else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="model name (default: newest or built-in)")
    parser.add_argument("--keys", type=int, default=200, help="keystrokes to time")
    parser.add_argument("--completions", type=int, default=20, help="completions to time")
    parser.add_argument("--synthetic", action="store_true",
                        help="use a random-weight default-size model in a temporary store")
    args = parser.parse_args()
    model = synthetic_store() if args.synthetic else args.model
    from charlm.errors import CharlmError

    try:
        asyncio.run(measure(model, args.keys, args.completions))
    except CharlmError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
