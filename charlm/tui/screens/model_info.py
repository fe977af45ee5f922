"""Model info: configuration, corpus, and validation perplexity per epoch as a sparkline."""

from __future__ import annotations

import math

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Sparkline, Static

from charlm.engine.engine import Engine
from charlm.store import ModelRecord
from charlm.trainer.config import ARCH_NAMES


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "?"


def facts(record: ModelRecord) -> Table:
    """Two-column table of what a user wants to know about a model."""
    c, corpus = record.config, record.corpus
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    rows = [
        ("model", f"{record.name}{' (built-in)' if record.builtin else ''}"),
        ("architecture", f"{ARCH_NAMES.get(c.arch, c.arch)}, {c.layers} layer(s) × {c.units} "
                         f"units, {'one-hot input' if c.one_hot else f'embedding {c.embedding}'}"),
        ("parameters", f"{record.params:,}"),
        ("vocabulary", f"{len(record.vocabulary)} characters"),
        ("normalisation", ", ".join(k for k, v in (("lower-case", c.lowercase), ("NFC", c.nfc),
                                                  ("collapse spaces", c.collapse_whitespace)) if v)
         or "none"),
        ("corpus", ", ".join(corpus.sources) or "?"),
        ("corpus size", f"{corpus.chars:,} characters, {corpus.documents:,} documents "
                        f"(train {corpus.train_chars:,} / val {corpus.val_chars:,}, "
                        f"split by {corpus.split_by})"),
        ("training", f"{len(record.history)} epoch{'' if len(record.history) == 1 else 's'}, "
                     f"best epoch {record.best_epoch}, "
                     f"{_fmt(record.train_seconds, 0)} s, {record.status}"),
        ("optimiser", f"{c.optimizer} lr {c.learning_rate:g}, batch {c.batch_size}, "
                      f"sequence {c.seq_length}, dropout {c.dropout:g}"),
        ("val perplexity", _fmt(record.val_perplexity)),
        ("created", record.created),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


class ModelInfoScreen(ModalScreen[None]):
    """What model is loaded and how its training went."""

    BINDINGS = [Binding("escape,f9,q", "close", "Close")]

    def __init__(self, engine: Engine, label: str) -> None:
        super().__init__()
        self.engine, self.label = engine, label

    def compose(self) -> ComposeResult:
        record = self.engine.record
        with VerticalScroll() as box:
            box.border_title = f"model info: {self.label}"
            if record is None:
                yield Static(f"An in-memory model with {len(self.engine.vocab)} characters and no "
                             "stored record (no training history).")
                return
            yield Static(facts(record), id="facts")
            history = [e.val_perplexity for e in record.history if math.isfinite(e.val_perplexity)]
            if history:
                yield Label(f"validation perplexity per epoch: {_fmt(history[0])} → "
                            f"{_fmt(history[-1])} (best {_fmt(min(history))})", classes="caption")
                yield Sparkline(history, summary_function=min, id="history")
            else:
                yield Label("no training history recorded", classes="caption")

    def action_close(self) -> None:
        self.dismiss(None)
