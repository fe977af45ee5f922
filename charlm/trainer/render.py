"""Rich rendering of training events and model records (the CLI's view, no logic).

Every name, path or corpus source shown here goes through
:func:`~charlm.trainer.cli_support.shown` (markup escaped, control
characters made visible): a folder called ``a[/b]`` or a file name with an
escape sequence is printed as it is, never interpreted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from charlm.store import ModelRecord, StoreEntry
from charlm.trainer.cli_support import shown
from charlm.trainer.fit import BatchEnd, EpochEnd, FitEvent, FitFinished, FitStarted


def dumps(obj: Any, indent: int | None = None) -> str:
    """JSON for machines: non-ASCII kept, but control and bidi characters escaped."""
    from charlm.data.sanitize import json_dumps

    return json_dumps(obj, indent=indent)


def _round(x: float, digits: int = 4) -> float | None:
    return round(x, digits) if math.isfinite(x) else None


def record_summary(record: ModelRecord) -> dict[str, Any]:
    """The JSON object `fit`, `list` and `compare` print for a model."""
    return {
        "name": record.name,
        "arch": record.arch,
        "label": record.label,
        "params": record.params,
        "val_perplexity": _round(record.val_perplexity),
        "bits_per_char": _round(record.bits_per_char),
        "epochs": len(record.history),
        "best_epoch": record.best_epoch,
        "train_seconds": record.train_seconds,
        "status": record.status,
        "stop_reason": record.stop_reason,
        "corpus": ", ".join(record.corpus.sources),
        "created": record.created,
        "builtin": record.builtin,
        "path": str(record.path),
        "broken": False,
    }


def entry_summary(entry: StoreEntry) -> dict[str, Any]:
    """`list --json`'s object: a model's summary, or its name, path and why it is broken."""
    if entry.record is not None:
        return record_summary(entry.record)
    return {"name": entry.name, "path": str(entry.path), "builtin": entry.builtin, "broken": True,
            "error": entry.error}


class FitRenderer:
    """Consumes fit events: a progress bar per epoch and a line per epoch, or JSON lines."""

    def __init__(self, console: Console, as_json: bool):
        self.console = console
        self.as_json = as_json
        self.progress: Progress | None = None
        self.task = None
        self.finished: FitFinished | None = None
        self._started: FitStarted | None = None
        self._run_started = time.monotonic()
        self._epoch_seconds: list[float] = []

    def __call__(self, event: FitEvent) -> None:
        if isinstance(event, FitFinished):
            self.finished = event
        if isinstance(event, FitStarted):
            self._started = event
            self._run_started = time.monotonic()
        if isinstance(event, EpochEnd):
            self._epoch_seconds.append(event.seconds)
        if self.as_json:
            self._json(event)
        else:
            self._rich(event)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _json(self, event: FitEvent) -> None:
        if isinstance(event, EpochEnd):
            print(dumps({"event": "epoch", "epoch": event.epoch, "loss": _round(event.loss, 6),
                         "val_perplexity": _round(event.val_perplexity, 6),
                         "best_perplexity": _round(event.best_perplexity, 6), "seconds": round(event.seconds, 3),
                         "learning_rate": event.learning_rate, "chars_per_second": round(event.chars_per_second)}),
                  flush=True)
        elif isinstance(event, FitFinished) and event.record is not None:
            out = record_summary(event.record)
            out.update(event="finished", reason=event.reason, train_seconds=round(event.train_seconds, 3))
            print(dumps(out), flush=True)

    def _run_eta(self, epoch: int) -> str:
        """An upper bound of the run's remaining time: the epoch limit at the mean epoch time,
        or the time limit, whichever comes first (early stopping may end sooner)."""
        s = self._started
        if s is None or not self._epoch_seconds:
            return ""
        t = s.config.training
        per_epoch = sum(self._epoch_seconds) / len(self._epoch_seconds)
        left = (t.max_epochs - epoch + 1) * per_epoch
        if t.time_limit:
            left = min(left, max(0.0, t.time_limit - (time.monotonic() - self._run_started)))
        return f"run ≤ {_duration(left)}"

    def _rich(self, event: FitEvent) -> None:
        con = self.console
        if isinstance(event, FitStarted):
            c = event.config
            replicas = f", {event.replicas} replicas (global batch {c.training.batch_size * event.replicas})" \
                if event.replicas > 1 else ""
            con.print(f"[bold]{shown(event.name)}[/]: {c.describe()}, {event.params:,} parameters, "
                      f"vocabulary {event.vocab_size}{replicas}", highlight=False)
            con.print(f"corpus: {event.train_chars:,} training / {event.val_chars:,} validation characters "
                      f"(split by {event.split_by}); unigram perplexity {event.unigram_perplexity:.2f}")
            self.progress = Progress(
                TextColumn("epoch {task.fields[epoch]:>3}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.3f}"),
                TextColumn("{task.fields[rate]:>7,.0f} chars/s"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[run]}"),
                console=con,
                transient=True,
            )
            self.progress.start()
        elif isinstance(event, BatchEnd) and self.progress is not None:
            if self.task is None or self.progress.tasks[0].fields["epoch"] != event.epoch:
                if self.task is not None:
                    self.progress.remove_task(self.task)
                self.task = self.progress.add_task("train", total=event.batches, epoch=event.epoch, loss=event.loss,
                                                   rate=0.0, run=self._run_eta(event.epoch))
            self.progress.update(self.task, completed=event.batch, loss=event.loss, rate=event.chars_per_second)
        elif isinstance(event, EpochEnd):
            mark = "[green]*[/]" if event.improved else " "
            con.print(
                f"epoch {event.epoch:>3}  loss {event.loss:.4f}  val perplexity {event.val_perplexity:.4f} {mark} "
                f" best {event.best_perplexity:.4f} (epoch {event.best_epoch})  {event.seconds:.1f}s  "
                f"{event.chars_per_second:,.0f} chars/s"
            )
        elif isinstance(event, FitFinished):
            self.close()
            rec = event.record
            if rec is None and event.weights is not None:
                con.print(f"stopped by {event.reason} after {event.train_seconds:.0f}s; "
                          "the chief of this multi-worker run saved the model")
                return
            if rec is None:
                con.print("[yellow]interrupted before the first epoch ended: nothing saved[/]")
                return
            name = shown(rec.name)
            if event.reason == "cached":
                con.print(f"[bold]{name}[/] is already trained on this corpus with these options: reusing it "
                          "(--force retrains, --resume with a larger --epochs trains it further)", highlight=False)
            elif event.reason == "interrupted":
                con.print(f"[yellow]interrupted[/]: best model so far saved as [bold]{name}[/] "
                          "(continue with --resume)", highlight=False)
            else:
                why = {"early-stop": "early stopping", "max-epochs": "epoch limit", "diverged": "divergence",
                       "time-limit": "the time limit"}
                con.print(f"stopped by {why.get(event.reason, event.reason)} after {len(rec.history)} epochs "
                          f"in {event.train_seconds:.0f}s")
            con.print(f"[bold]{name}[/]: validation perplexity [bold]{rec.val_perplexity:.4f}[/] "
                      f"({rec.bits_per_char:.3f} bits/char, best epoch {rec.best_epoch})  -> {shown(rec.path)}",
                      highlight=False)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def models_table(entries: list[StoreEntry]) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for col in ("name", "model", "params", "val ppl", "corpus", "date"):
        table.add_column(col, justify="right" if col in ("params", "val ppl") else "left")
    for e in entries:
        r = e.record
        if r is None:
            table.add_row(f"{shown(e.name)} [red](broken)[/]", "", "", "", f"[red]{shown(e.error)}[/]", "")
            continue
        name = (shown(r.name) + (" [dim](built-in)[/]" if r.builtin else "")
                + (" [yellow](interrupted)[/]" if r.interrupted else ""))
        table.add_row(
            name,
            shown(r.label),
            f"{r.params:,}",
            f"{r.val_perplexity:.3f}",
            shown(", ".join(s.rsplit("/", 1)[-1] for s in r.corpus.sources)),
            shown(r.created[:16].replace("T", " ")),
        )
    return table


def show_lines(record: ModelRecord) -> Iterator[Any]:
    """What `show` prints: config, corpus, metrics, history."""
    cfg = Table(title=shown(record.name) + (" (built-in)" if record.builtin else ""), show_header=False,
                show_edge=False)
    cfg.add_column(style="bold")
    cfg.add_column()
    cfg.add_row("architecture", shown(record.config.describe()))
    for k, v in record.config.to_dict()["arch"].items():
        if k != "name":
            cfg.add_row(f"  {k}", shown(v))
    for k, v in record.config.to_dict()["training"].items():
        cfg.add_row(k, shown(v))
    norm = record.config.normalization.to_dict()
    cfg.add_row("normalization", ", ".join(k for k, v in norm.items() if v is True) or "none (byte-exact)")
    cfg.add_row("vocabulary", f"{len(record.vocabulary)} symbols")
    cfg.add_row("params", f"{record.params:,}")
    cfg.add_row("corpus", shown(", ".join(record.corpus.sources)))
    cfg.add_row("fingerprint", shown(record.corpus.fingerprint))
    cfg.add_row("split", f"{record.corpus.train_chars:,} train / {record.corpus.val_chars:,} validation chars, "
                         f"by {shown(record.corpus.split_by)}")
    cfg.add_row("val perplexity",
                f"{record.val_perplexity:.4f} (epoch {record.best_epoch}, {record.bits_per_char:.3f} bits/char)")
    cfg.add_row("status", record.status + (f" ({record.stop_reason})" if record.stop_reason else ""))
    cfg.add_row("trained", f"{shown(record.created)}, {record.train_seconds:.0f}s")
    cfg.add_row("versions", shown(", ".join(f"{k} {v}" for k, v in record.versions.items())))
    cfg.add_row("path", shown(record.path))
    yield cfg
    hist = Table(title="history", show_edge=False, header_style="bold")
    for col in ("epoch", "loss", "val perplexity", "seconds"):
        hist.add_column(col, justify="right")
    for e in record.history:
        star = " *" if e.epoch == record.best_epoch else ""
        hist.add_row(str(e.epoch), f"{e.loss:.4f}", f"{e.val_perplexity:.4f}{star}", f"{e.seconds:.1f}")
    yield hist


def record_details(record: ModelRecord) -> dict[str, Any]:
    """The JSON object `show --json` prints."""
    out = record_summary(record)
    out["config"] = record.config.to_dict()
    out["vocabulary_size"] = len(record.vocabulary)
    out["corpus_info"] = record.corpus.to_dict()
    out["history"] = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                       for k, v in e.__dict__.items()} for e in record.history]
    out["versions"] = record.versions
    return out
