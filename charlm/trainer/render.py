"""Rich rendering of training events and model records (the CLI's view, no logic)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from charlm.store import ModelRecord
from charlm.trainer.config import ARCH_NAMES
from charlm.trainer.fit import BatchEnd, EpochEnd, FitEvent, FitFinished, FitStarted


def record_summary(record: ModelRecord) -> dict[str, Any]:
    """The JSON object `fit`, `list` and `compare` print for a model."""
    return {
        "name": record.name,
        "arch": record.config.arch,
        "params": record.params,
        "val_perplexity": round(record.val_perplexity, 4),
        "bits_per_char": round(record.bits_per_char, 4),
        "epochs": len(record.history),
        "best_epoch": record.best_epoch,
        "train_seconds": record.train_seconds,
        "status": record.status,
        "corpus": ", ".join(record.corpus.sources),
        "created": record.created,
        "builtin": record.builtin,
        "path": str(record.path),
    }


def _size(c) -> str:
    return f"{c.layers}x{c.units}" + (" one-hot" if c.one_hot else f" emb{c.embedding}")


class FitRenderer:
    """Consumes fit events: a progress bar per epoch and a line per epoch, or JSON lines."""

    def __init__(self, console: Console, as_json: bool):
        self.console = console
        self.as_json = as_json
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, event: FitEvent) -> None:
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
            print(
                json.dumps(
                    {
                        "event": "epoch",
                        "epoch": event.epoch,
                        "loss": round(event.loss, 6),
                        "val_perplexity": round(event.val_perplexity, 6),
                        "best_perplexity": round(event.best_perplexity, 6),
                        "seconds": round(event.seconds, 3),
                    }
                ),
                flush=True,
            )
        elif isinstance(event, FitFinished) and event.record is not None:
            out = record_summary(event.record)
            out.update(event="finished", reason=event.reason, train_seconds=round(event.train_seconds, 3))
            print(json.dumps(out), flush=True)

    def _rich(self, event: FitEvent) -> None:
        con = self.console
        if isinstance(event, FitStarted):
            c = event.config
            con.print(
                f"[bold]{event.name}[/]: {ARCH_NAMES[c.arch]} {_size(c)}, {event.params:,} parameters, "
                f"vocabulary {event.vocab_size}"
            )
            con.print(
                f"corpus: {event.train_chars:,} training / {event.val_chars:,} validation characters "
                f"(split by {event.split_by}); unigram perplexity {event.unigram_perplexity:.2f}"
            )
            self.progress = Progress(
                TextColumn("epoch {task.fields[epoch]:>3}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.3f}"),
                TimeElapsedColumn(),
                console=con,
                transient=True,
            )
            self.progress.start()
        elif isinstance(event, BatchEnd) and self.progress is not None:
            if self.task is None or self.progress.tasks[0].fields["epoch"] != event.epoch:
                if self.task is not None:
                    self.progress.remove_task(self.task)
                self.task = self.progress.add_task("train", total=event.batches, epoch=event.epoch, loss=event.loss)
            self.progress.update(self.task, completed=event.batch, loss=event.loss)
        elif isinstance(event, EpochEnd):
            mark = "[green]*[/]" if event.improved else " "
            con.print(
                f"epoch {event.epoch:>3}  loss {event.loss:.4f}  val perplexity {event.val_perplexity:.4f} {mark} "
                f" best {event.best_perplexity:.4f} (epoch {event.best_epoch})  {event.seconds:.1f}s"
            )
        elif isinstance(event, FitFinished):
            self.close()
            rec = event.record
            if rec is None:
                con.print("[yellow]interrupted before the first epoch ended: nothing saved[/]")
                return
            if event.reason == "cached":
                con.print(
                    f"[bold]{rec.name}[/] is already trained on this corpus with these options: reusing it "
                    "(--force retrains)"
                )
            elif event.reason == "interrupted":
                con.print(
                    f"[yellow]interrupted[/]: best model so far saved as [bold]{rec.name}[/] (continue with --resume)"
                )
            else:
                why = {"early-stop": "early stopping", "max-epochs": "epoch limit", "diverged": "divergence"}
                con.print(
                    f"stopped by {why.get(event.reason, event.reason)} after {len(rec.history)} epochs "
                    f"in {event.train_seconds:.0f}s"
                )
            con.print(
                f"[bold]{rec.name}[/]: validation perplexity [bold]{rec.val_perplexity:.4f}[/] "
                f"({rec.bits_per_char:.3f} bits/char, best epoch {rec.best_epoch})  -> {rec.path}"
            )


def models_table(records: list[ModelRecord]) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for col in ("name", "arch", "size", "params", "val ppl", "corpus", "date"):
        table.add_column(col, justify="right" if col in ("params", "val ppl") else "left")
    for r in records:
        name = (
            r.name
            + (" [dim](built-in)[/]" if r.builtin else "")
            + (" [yellow](interrupted)[/]" if r.interrupted else "")
        )
        table.add_row(
            name,
            ARCH_NAMES[r.config.arch],
            _size(r.config),
            f"{r.params:,}",
            f"{r.val_perplexity:.3f}",
            ", ".join(s.rsplit("/", 1)[-1] for s in r.corpus.sources),
            r.created[:16].replace("T", " "),
        )
    return table


def show_lines(record: ModelRecord) -> Iterator[Any]:
    """What `show` prints: config, corpus, metrics, history."""
    cfg = Table(title=f"{record.name}" + (" (built-in)" if record.builtin else ""), show_header=False, show_edge=False)
    cfg.add_column(style="bold")
    cfg.add_column()
    for k, v in record.config.to_dict().items():
        cfg.add_row(k, str(v))
    cfg.add_row("vocabulary", f"{len(record.vocabulary)} symbols")
    cfg.add_row("params", f"{record.params:,}")
    cfg.add_row("corpus", ", ".join(record.corpus.sources))
    cfg.add_row("fingerprint", record.corpus.fingerprint)
    cfg.add_row(
        "split",
        f"{record.corpus.train_chars:,} train / {record.corpus.val_chars:,} validation chars, "
        f"by {record.corpus.split_by}",
    )
    cfg.add_row(
        "val perplexity",
        f"{record.val_perplexity:.4f} (epoch {record.best_epoch}, {record.bits_per_char:.3f} bits/char)",
    )
    cfg.add_row("status", record.status)
    cfg.add_row("trained", f"{record.created}, {record.train_seconds:.0f}s")
    cfg.add_row("versions", ", ".join(f"{k} {v}" for k, v in record.versions.items()))
    cfg.add_row("path", str(record.path))
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
    out["corpus_info"] = {**record.corpus.__dict__, "sources": list(record.corpus.sources)}
    out["history"] = [e.__dict__ for e in record.history]
    out["versions"] = record.versions
    return out
