"""Model info: what the model writes, its configuration and corpus, and validation perplexity
per epoch as a sparkline. Every value is shown as text (never markup) and escaped for the terminal:
corpus names come from the user's files."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Sparkline, Static

from charlm.data.samples import describe_source
from charlm.data.sanitize import terminal_safe
from charlm.engine.engine import Engine
from charlm.store import ModelRecord


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "?"


def what_it_writes(record: ModelRecord) -> str:
    """In a few words, the text the model learnt: "lower-case Rioplatense Spanish dialogue"."""
    sources = record.corpus.sources
    described = [describe_source(s) for s in sources]
    if sources and all(described):
        text = ", ".join(dict.fromkeys(d for d in described if d))
    else:
        names = ", ".join(s.rsplit("/", 1)[-1] for s in sources[:3]) + (" …" if len(sources) > 3 else "")
        text = f"text like {names}" if sources else "text from an unknown corpus"
    lower = record.config.normalization.lowercase
    return terminal_safe(f"{'lower-case ' if lower else ''}{text}", single_line=True)


def facts(record: ModelRecord) -> Table:
    """Two-column table of what a user wants to know about a model."""
    n, t, corpus = record.config.normalization, record.config.training, record.corpus
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    rows = [
        ("model", f"{record.name}{' (built-in)' if record.builtin else ''}"),
        ("writes", what_it_writes(record)),
        ("architecture", record.config.describe()),
        ("parameters", f"{record.params:,}"),
        ("vocabulary", f"{len(record.vocabulary)} characters"),
        ("normalisation", ", ".join(k for k, v in (("lower-case", n.lowercase), ("NFC", n.nfc),
                                                  ("collapse spaces", n.collapse_whitespace)) if v)
         or "none"),
        ("corpus", ", ".join(corpus.sources) or "?"),
        ("corpus size", f"{corpus.chars:,} characters, {corpus.documents:,} documents "
                        f"(train {corpus.train_chars:,} / val {corpus.val_chars:,}, "
                        f"split by {corpus.split_by})"),
        ("training", f"{len(record.history)} epoch{'' if len(record.history) == 1 else 's'}, "
                     f"best epoch {record.best_epoch}, "
                     f"{_fmt(record.train_seconds, 0)} s, {record.status}"),
        ("optimiser", f"{t.optimizer} lr {t.learning_rate:g}, batch {t.batch_size}, "
                      f"sequence {t.seq_length}"),
        ("val perplexity", _fmt(record.val_perplexity)),
        ("created", record.created),
    ]
    for key, value in rows:
        table.add_row(key, Text(terminal_safe(str(value), single_line=True)))
    return table


class ModelInfoScreen(ModalScreen[None]):
    """What model is loaded and how its training went."""

    BINDINGS = [Binding("escape,f9,q", "close", "Close")]  # q: never typed here

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
            else:
                yield Static(facts(record), id="facts")
                history = [e.val_perplexity for e in record.history if math.isfinite(e.val_perplexity)]
                if history:
                    yield Label(f"validation perplexity per epoch: {_fmt(history[0])} → "
                                f"{_fmt(history[-1])} (best {_fmt(min(history))})", classes="caption")
                    yield Sparkline(history, summary_function=min, id="history")
                else:
                    yield Label("no training history recorded", classes="caption")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
