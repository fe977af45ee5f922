"""A tiny deterministic engine for the TUI tests, with a gate to hold a stream mid-way.

The toy model is a cyclic bigram over ``" .abcdefgh"``: after each character
the next one in that cycle has probability ~0.63, the one after ~0.23 and so
on, so greedy output is known (``"ab"`` continues ``"cdefgh .ab..."``) and
the next-character panel has a clear winner. No TensorFlow, no store.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from charlm.data.normalize import Normalization
from charlm.data.vocab import Vocabulary
from charlm.engine.engine import Engine
from charlm.engine.settings import DecodeSettings, LiveSettings

ALPHABET = " .abcdefgh"


def cycle_table(vocab_size: int) -> np.ndarray:
    """Row i: probability decays with the distance after i in the cycle of ids 1..V-1."""
    n = vocab_size - 1
    table = np.full((vocab_size, vocab_size), 1e-9)
    for i in range(vocab_size):
        pos = max(i, 1) - 1
        for j in range(1, vocab_size):
            table[i, j] = np.exp(-float((j - 1 - pos - 1) % n))
    return table / table.sum(axis=1, keepdims=True)


class Gate:
    """Holds every model step until the test releases it (or opens the gate for good)."""

    def __init__(self) -> None:
        self._sem = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._open = False
        self.entered = 0

    def wait(self) -> None:
        with self._lock:
            self.entered += 1
            is_open = self._open
        if not is_open:
            self._sem.acquire(timeout=10)

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self._sem.release()

    def open(self) -> None:
        with self._lock:
            self._open = True
        self._sem.release(10_000)


def _generating() -> bool:
    """True inside the app's generation worker (the prompt analysis is never gated)."""
    from textual.worker import NoActiveWorker, get_current_worker

    try:
        return get_current_worker().group == "generate"
    except NoActiveWorker:
        return False


class ToyModel:
    """StepModel over :func:`cycle_table`; optional per-step delay or gate."""

    def __init__(self, vocab_size: int, *, delay: float = 0.0, gate: Gate | None = None) -> None:
        self.vocab_size = vocab_size
        self.log_table = np.log(cycle_table(vocab_size))
        self.delay, self.gate = delay, gate
        self.steps = 0

    def start(self, prompt_ids: Sequence[int]):
        last = int(prompt_ids[-1])
        return (np.array([last], dtype=np.int64),), self.log_table[last].copy()

    def run(self, ids: Sequence[int], state=None):
        """Log-probs after each id (what perplexity scoring reads)."""
        ids = np.asarray(ids, dtype=np.int64)
        return (ids[-1:].copy(),), self.log_table[ids].copy()

    def step(self, state, ids):
        if self.gate is not None and _generating():
            self.gate.wait()
        if self.delay:
            time.sleep(self.delay)
        self.steps += 1
        ids = np.asarray(ids, dtype=np.int64)
        return (ids.copy(),), self.log_table[ids].copy()


def make_engine(*, delay: float = 0.0, gate: Gate | None = None, record=None,
                alphabet: str = ALPHABET) -> Engine:
    vocab = Vocabulary(alphabet)
    return Engine(ToyModel(len(vocab), delay=delay, gate=gate), vocab, Normalization(), record)


class RecordingLive(LiveSettings):
    """LiveSettings that remembers every read made by a generation (non-UI) thread."""

    def __init__(self, settings: DecodeSettings | None = None) -> None:
        super().__init__(settings)
        self.reads: list[DecodeSettings] = []
        self._main = threading.main_thread()

    def get(self) -> DecodeSettings:
        s = super().get()
        if threading.current_thread() is not self._main:
            self.reads.append(s)
        return s


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 10.0,
                     what: str = "condition") -> None:
    """Let the app run until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (no asyncio plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def gate():
    g = Gate()
    yield g
    g.open()  # never leave a worker thread blocked


def main_screen(app):
    """The app's main screen (the tests fail clearly if a dialog is on top)."""
    from charlm.tui.screens.main import MainScreen

    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


async def run_to_end(pilot, screen) -> None:
    """Wait until the running completion has ended and every worker is done."""
    await wait_until(pilot, lambda: not screen.generating, what="the completion to end")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
