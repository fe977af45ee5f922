"""Latency and CPU use of the charlm app as a user feels them, measured through Textual's Pilot.

    python bench/tui_bench.py [MODEL] [--keys 200] [--completions 20] [--suggest-keys 200] [--seconds 3]

Figures:
  * keystroke -> next-character panel painted with the new distribution
    (median and p95 over ``--keys`` keystrokes typed one by one into a prompt
    that grows to that length);
  * Enter -> first streamed character painted in the transcript (median, p95);
  * keystroke -> the suggestion for the new text drawn as ghost text in the
    prompt (median, p95), for greedy, beam (width 5) and sample (which
    suggests the greedy path): the worker's answer on screen, not the rest of
    the previous suggestion that a matching keystroke keeps at once;
  * CPU use of the whole app process (all threads; % of one core) while idle
    and while a completion streams at a pace of 20, 60 and 200 characters a
    second and as fast as possible, over ``--seconds`` each: a paced stream
    must wait, not spin;
  * the prefix cache on a 1 MB prompt: time, model states held, memory growth.

Targets: median <= 20 ms for the keystroke, <= 50 ms to the first character,
median <= 20 ms and p95 <= 50 ms to the suggestion.
Times run from the moment the key event is handed to the app to the
widget's ``render`` of the new state (``NextChars.painted_at``,
``Entry.first_painted_at``, ``PromptEditor.painted_at``; for an empty
suggestion, its arrival); Pilot's own idle-waiting after each key is not
counted. The model comes from the store (``CHARLM_HOME``), default the newest
or the built-in one. Settings are not read from or saved to the user's
config (``remember=False``).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Typed through Pilot, which has no key for some characters (¿, ¡): plain punctuation only.
TEXT = ("che, vos viste lo que pasó ayer en el centro? no, contame. "
        "había un tipo vendiendo estampillas en la esquina de corrientes y nadie le compraba, "
        "hasta que llegó la mina del kiosco y le compró todas. ")


def p95(ms: list[float]) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def summary(name: str, ms: list[float]) -> str:
    return (f"{name:<38} median {statistics.median(ms):6.1f} ms   p95 {p95(ms):6.1f} ms   "
            f"max {max(ms):6.1f} ms   (n={len(ms)})")


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not update in time")
        await asyncio.sleep(0.001)


async def latency(engine, keys: int, completions: int) -> tuple[list[float], list[float]]:
    from charlm.engine.settings import DecodeSettings
    from charlm.tui.app import CharlmApp
    from charlm.tui.screens.main import MainScreen
    from charlm.tui.widgets.next_chars import NextChars

    text = (TEXT * (1 + keys // len(TEXT)))[:keys]
    app = CharlmApp(engine, settings=DecodeSettings(mode="sample", length=40, seed=0), remember=False)
    key_ms: list[float] = []
    first_ms: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        panel = screen.query_one(NextChars)
        await pilot.pause(0.2)
        for char in text:
            before = panel.updates
            t0 = time.perf_counter()
            await pilot.press(char)  # Pilot maps punctuation and spaces to key names
            await until(lambda before=before, t0=t0: panel.updates > before and panel.painted_at >= t0)
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
    return key_ms, first_ms


async def suggestion_latency(engine, keys: int, mode: str) -> list[float]:
    """Keystroke -> the worker's suggestion for the new text drawn (or known to be empty), in ms."""
    from charlm.engine.settings import DecodeSettings
    from charlm.tui.app import CharlmApp
    from charlm.tui.screens.main import MainScreen

    text = (TEXT * (1 + keys // len(TEXT)))[:keys]
    app = CharlmApp(engine, settings=DecodeSettings(mode=mode, beam_width=5, seed=0), remember=False)
    ms: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        prompt = screen.prompt
        await pilot.pause(0.2)

        def drawn() -> bool:
            edit = prompt.edits
            return prompt.answered == edit and (not prompt.ghost or prompt.painted == (edit, prompt.ghost))

        for char in text:
            t0 = time.perf_counter()
            await pilot.press(char)
            await until(drawn)
            done = prompt.painted_at if prompt.ghost else prompt.answered_at
            ms.append(1000 * (done - t0))
    return ms


async def cpu_use(engine, seconds: float) -> list[tuple[str, float, float]]:
    """(what, % of one core, characters shown per second) while idle and while streaming."""
    from charlm.engine.settings import DecodeSettings
    from charlm.tui.app import CharlmApp
    from charlm.tui.prefs import ViewSettings

    rows = []
    app = CharlmApp(engine, settings=DecodeSettings(mode="sample", length=100_000, seed=0), remember=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        screen.prompt.set_text("che, ¿qué hacés?")
        await pilot.pause(0.5)
        wall, cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        rows.append(("idle", 100 * (time.process_time() - cpu) / (time.monotonic() - wall), 0.0))
        for pace in (20, 60, 200, 0):
            app.update_view(ViewSettings(pace=pace))
            await pilot.press("enter")
            await until(lambda: screen.transcript.last.generated != "", timeout=10)
            entry = screen.transcript.last
            start_chars = len(entry.generated)
            wall, cpu = time.monotonic(), time.process_time()
            await asyncio.sleep(seconds)
            used = time.process_time() - cpu
            elapsed = time.monotonic() - wall
            shown = (len(entry.generated) - start_chars) / elapsed
            rows.append((f"streaming at {pace}/s" if pace else "streaming as fast as possible",
                         100 * used / elapsed, shown))
            await pilot.press("escape")
            await until(lambda: not screen.generating, timeout=10)
    return rows


def prefix_cache_figures(engine) -> str:
    """Analyse a 1 MB prompt with the app's prefix cache: time, states held, memory growth."""
    from charlm.engine.prefix import PrefixCache

    text = (TEXT * (1 + 1_000_000 // len(TEXT)))[:1_000_000]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cache = PrefixCache(engine)
    t0 = time.perf_counter()
    cache.analyze(text, 30)
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    cache.analyze(text[:-1], 30)  # a backspace
    cache.analyze(text[:500_000], 30)  # a deep edit: re-read from the nearest checkpoint
    deep = time.perf_counter() - t1
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return (f"prefix cache, 1 MB prompt: {seconds:.1f} s to read, {cache.state_count} states held, "
            f"peak memory +{grown:.0f} MB; backspace + deep edit {1000 * deep:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="model name (default: newest or built-in)")
    parser.add_argument("--keys", type=int, default=200, help="keystrokes to time")
    parser.add_argument("--completions", type=int, default=20, help="completions to time")
    parser.add_argument("--suggest-keys", type=int, default=200,
                        help="keystrokes to time per decoding mode for suggestions")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per CPU-use figure")
    parser.add_argument("--skip-1mb", action="store_true", help="skip the 1 MB prefix-cache figure")
    args = parser.parse_args()
    from charlm.engine import Engine
    from charlm.errors import CharlmError

    try:
        engine = Engine.load(args.model)
    except CharlmError as exc:
        sys.exit(f"error: {exc}")
    label = f"{engine.record.name}: {engine.record.label}" if engine.record else "?"
    print(f"model {label}, vocabulary {len(engine.vocab)}")
    key_ms, first_ms = asyncio.run(latency(engine, args.keys, args.completions))
    print(summary(f"keystroke -> next-char panel ({args.keys} keys)", key_ms))
    print(summary(f"Enter -> first streamed char ({args.completions})", first_ms))
    suggested = {}
    for mode in ("greedy", "beam", "sample"):
        suggested[mode] = asyncio.run(suggestion_latency(engine, args.suggest_keys, mode))
        print(summary(f"keystroke -> suggestion drawn, {mode}", suggested[mode]))
    for what, percent, shown in asyncio.run(cpu_use(engine, args.seconds)):
        rate = f", {shown:6.0f} chars/s shown" if shown else ""
        print(f"  CPU {what:<32} {percent:5.1f}% of a core{rate}")
    if not args.skip_1mb:
        print(prefix_cache_figures(engine))
    ok_key = statistics.median(key_ms) <= 20
    ok_first = statistics.median(first_ms) <= 50
    ok_suggest = all(statistics.median(ms) <= 20 and p95(ms) <= 50 for ms in suggested.values())
    print(f"targets: keystroke median <= 20 ms {'OK' if ok_key else 'MISSED'}; "
          f"first char <= 50 ms {'OK' if ok_first else 'MISSED'}; "
          f"suggestion median <= 20 ms, p95 <= 50 ms {'OK' if ok_suggest else 'MISSED'}")


if __name__ == "__main__":
    main()
