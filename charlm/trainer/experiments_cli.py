"""`charlm-train compare` and `charlm-train tune`: parse options, call the library, render with rich.

The work is in :mod:`charlm.trainer.compare` and :mod:`charlm.trainer.tune`;
TensorFlow, keras-tuner and matplotlib are imported only once a command runs,
so ``charlm-train --help`` stays fast. Helpers shared with `fit` come from
:mod:`charlm.trainer.cli_support`.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from charlm import archs
from charlm.cli_common import user_errors
from charlm.config import TrainConfig
from charlm.trainer.cli_support import (
    corpus_paths,
    drive,
    exit_code,
    load_for,
    name_or_default,
    shown,
    stop_signals_interrupt,
)
from charlm.trainer.distribute import STRATEGIES
from charlm.trainer.options import (
    config_from_options,
    model_options,
    normalization_from_options,
    pop_model_options,
)

_TRAIN = TrainConfig()


class _CompareView:
    """Progress of each architecture's fit, drawn by the `fit` renderer."""

    def __init__(self, console: Console):
        self.console = console
        self.fit_view = None
        self.finished = None

    def __call__(self, event) -> None:
        from charlm.trainer.compare import ArchCompared, ArchStarted, CompareFinished
        from charlm.trainer.render import FitRenderer

        if isinstance(event, ArchStarted):
            self.close()
            self.console.rule(f"{event.index}/{event.total}  {archs.get(event.arch).title}  ->  {shown(event.name)}")
            self.fit_view = FitRenderer(self.console, as_json=False)
        elif isinstance(event, CompareFinished):
            self.finished = event
        elif not isinstance(event, ArchCompared) and self.fit_view is not None:
            self.fit_view(event)

    def close(self) -> None:
        if self.fit_view is not None:
            self.fit_view.close()


def _compare_table(rows) -> Table:
    """Fits in 80 columns: model names are in the rules above and the completions below."""
    table = Table(show_edge=False, header_style="bold", caption="val ppl: best exact validation perplexity")
    for col in ("arch", "params", "epochs", "train s", "val ppl", "bits/char", "stopped by"):
        table.add_column(col, justify="left" if col in ("arch", "stopped by") else "right", no_wrap=True)
    best = min(r.record.val_perplexity for r in rows)
    for r in rows:
        rec = r.record
        table.add_row(
            r.record.label,
            f"{rec.params:,}",
            str(len(rec.history)),
            f"{rec.train_seconds:.0f}",
            f"{rec.val_perplexity:.4f}",
            f"{r.bits_per_char:.3f}",
            r.reason,
            style="bold green" if rec.val_perplexity == best and len(rows) > 1 else None,
        )
    return table


def _completion_lines(rows) -> list[Text]:
    from charlm.engine.modes import mode as mode_of

    lines = [Text(f"completions of {rows[0].prompt!r} (fixed seed):", style="bold")] if rows else []
    for r in rows:
        lines.append(Text.assemble((r.record.label, "bold"), f" ({r.record.name})"))
        for mode, text in r.completions.items():
            lines.append(Text.assemble(f"  {mode_of(mode).label:<13}", (r.prompt, "dim"), text.replace("\n", "⏎")))
    return lines


@click.command()
@click.argument("corpus", nargs=-1)
@click.option("--archs", "archs_text", default=",".join(archs.SEED_ARCHS), show_default=True,
              help=f"Comma-separated architectures to compare ({', '.join(archs.names())}).")
@click.option("--sample", metavar="NAME", help="Use a sample corpus shipped with charlm (e.g. 'rioplatense').")
@click.option("--name", "base", metavar="BASE", help="Store the models as BASE-ARCH (default: the corpus file name).")
@model_options(with_arch=False)
@click.option("--prompt", help="Prompt of the completions (default: the first words of the validation text).")
@click.option("--length", type=click.IntRange(0, 10_000), default=60, show_default=True, help="Completion length.")
@click.option("--force", is_flag=True, help="Retrain models that are already in the store.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="auto", show_default=True,
              help="Where each model trains, as for fit (see docs/scaling.md).")
@click.option("--log-dir", type=click.Path(file_okay=False), help="Write TensorBoard scalars here (one run per model).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of rows (progress goes to stderr).")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True), help="Write the validation curves to a PNG.")
def compare(corpus, archs_text, sample, base, prompt, length, force, strategy, log_dir, as_json, plot,
            **options) -> None:
    """Train each architecture on CORPUS with the same split and budget, then compare them.

    Every model is an ordinary `fit` (leak-free validation tail, exact
    perplexity, early stopping) whose options differ only in the architecture;
    each is stored as BASE-ARCH. Prints a table and one completion per
    decoding mode from each model. Ctrl-C keeps the model being trained.
    """
    from charlm.trainer.compare import compare as compare_models
    from charlm.trainer.compare import parse_archs
    from charlm.trainer.distribute import make_cluster
    from charlm.trainer.tensorboard import Tee, TensorBoardLog

    console = Console(stderr=as_json)
    model_opts = pop_model_options(options)
    view = _CompareView(console)
    rows = []
    with stop_signals_interrupt() as stopped, user_errors():
        arch_list = parse_archs(archs_text)
        if plot:
            from charlm.trainer.plot import check_available

            check_available()
        paths = corpus_paths(corpus, sample)
        configs = [config_from_options(model_opts, arch=a, strict=False) for a in arch_list]
        data = load_for(paths, normalization_from_options(model_opts), Console(stderr=True))
        cluster = make_cluster(strategy)
        events = compare_models(data, configs, name_or_default(base, paths, sample, corpus, ""), prompt=prompt,
                                length=length, force=force, cluster=cluster)
        drive(events, Tee(view, TensorBoardLog(log_dir, enabled=cluster.is_chief)))
        rows = list(view.finished.rows) if view.finished else []
        if plot and rows:
            from charlm.trainer.plot import plot_histories

            plot_histories([r.record for r in rows], Path(plot))
    if as_json:
        from charlm.trainer.render import dumps

        click.echo(dumps([r.to_dict() for r in rows], indent=2))
    elif rows:
        out = Console()
        out.print(_compare_table(rows))
        for line in _completion_lines(rows):
            out.print(line)
    if plot and rows:
        console.print(f"curves written to {shown(plot)}", highlight=False)
    if view.finished is None or view.finished.interrupted:
        console.print("[yellow]interrupted[/]: the models finished so far are in the store; run again to continue")
        raise SystemExit(exit_code(stopped))


class _TuneView:
    """One line per trial and per trial epoch."""

    def __init__(self, console: Console):
        self.console = console

    def __call__(self, event) -> None:
        from charlm.trainer import tune

        con = self.console
        if isinstance(event, tune.SearchStarted):
            s = event.spec
            limit = f"at most {s.max_trials} trials" if s.max_trials else "as many trials as Hyperband schedules"
            con.print(
                f"[bold]{shown(event.name)}[/]: Hyperband search, up to {s.max_epochs} epochs per trial, {limit}; "
                f"{event.train_chars:,} training / {event.val_chars:,} validation characters"
            )
            con.print(f"search state: {shown(event.folder)}", highlight=False)
            if event.resumed:
                con.print(f"resuming: {event.completed_trials} finished trials are kept")
            if event.role:
                con.print(f"distributed search: this process is the {event.role}"
                          + (" (it serves the oracle; workers run the trials)" if event.role == "chief" else ""))
        elif isinstance(event, tune.TrialStarted):
            c = event.config
            span = f"epochs {event.initial_epoch + 1}-{event.epochs}"
            if event.initial_epoch:
                span += " (continues a promoted trial)"
            where = f" on {shown(event.tuner)}" if event.tuner else ""
            con.print(f"trial [bold]{event.trial_id}[/]{where}: {c.describe()}, lr {c.training.learning_rate:g}, "
                      f"{span}", highlight=False)
        elif isinstance(event, tune.TrialEpoch):
            took = f"  {event.seconds:.1f}s" if event.seconds else ""
            con.print(f"  trial {event.trial_id} epoch {event.epoch:>3}  loss {event.loss:.4f}  "
                      f"val perplexity {event.val_perplexity:.4f}{took}")
        elif isinstance(event, tune.TrialEnded):
            if event.status == "COMPLETED" and event.val_perplexity is not None:
                con.print(
                    f"  trial {event.trial_id}: best {event.val_perplexity:.4f}  "
                    f"(search best {event.best_perplexity:.4f})"
                )
            else:
                con.print(f"  [red]trial {event.trial_id} {event.status.lower()}[/]")

    def close(self) -> None:
        pass


def _tune_json(name: str, spec, result, finished) -> dict[str, Any]:
    from dataclasses import asdict

    from charlm.trainer import search_spec
    from charlm.trainer.render import record_summary

    return {
        "name": name,
        "search": {
            "folder": str(search_spec.search_dir(name)),
            "max_epochs": spec.max_epochs,
            "max_trials": spec.max_trials,
            "best_trial": result.best_trial,
            "best_val_perplexity": round(float(result.best_perplexity), 6),
            "seconds": round(result.seconds, 3),
            "trials": [asdict(t) for t in result.trials],
        },
        "best_hyperparameters": {
            "arch": result.best.name, **search_spec.searched_fields(result.best),
            "learning_rate": result.best.training.learning_rate,
        },
        "reason": finished.reason if finished else "interrupted",
        "model": record_summary(finished.record) if finished and finished.record else None,
    }


@click.command()
@click.argument("corpus", nargs=-1)
@click.option("--sample", metavar="NAME", help="Use a sample corpus shipped with charlm (e.g. 'rioplatense').")
@click.option("--name", help="Name of the search and of the tuned model (default: corpus file name + '-tuned').")
@click.option("--archs", "archs_text", default=",".join(archs.SEED_ARCHS), show_default=True,
              help=f"Comma-separated architectures to search ({', '.join(archs.names())}).")
@click.option(
    "--max-epochs", type=click.IntRange(1, 1000), show_default="10", help="Hyperband's epoch budget per trial."
)
@click.option(
    "--max-trials", type=click.IntRange(1, 10_000), show_default="no limit", help="Stop after this many trials."
)
@click.option(
    "--epochs",
    type=click.IntRange(1, 10_000),
    show_default=str(_TRAIN.max_epochs),
    help="Final training's epoch limit.",
)
@click.option(
    "--patience",
    type=click.IntRange(0, 10_000),
    show_default=str(_TRAIN.patience),
    help="Final training's patience.",
)
@click.option(
    "--seq-length", type=click.IntRange(2, 10_000), show_default=str(_TRAIN.seq_length), help="Chunk length."
)
@click.option(
    "--batch-size", type=click.IntRange(1, 4096), show_default=str(_TRAIN.batch_size), help="Chunks per batch."
)
@click.option(
    "--seed", type=click.IntRange(0, 2**32 - 1), show_default=str(_TRAIN.seed), help="Seed of search and models."
)
@click.option("--no-lowercase", is_flag=True, help="Keep case (default: lower-case, as the seed study).")
@click.option("--byte-exact", is_flag=True, help="Keep the text exactly as it is.")
@click.option("--time-limit", metavar="DURATION",
              help="Budget of the search and the winner's training together (90s, 10m, 1h30m).")
@click.option("--log-dir", type=click.Path(file_okay=False), help="Write TensorBoard scalars of every trial here.")
@click.option("--resume", is_flag=True, help="Continue an interrupted search (finished trials are kept).")
@click.option("--force", is_flag=True, help="Start the search over and replace a model of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end (progress goes to stderr).")
def tune(corpus, sample, name, archs_text, resume, force, time_limit, log_dir, as_json, **options) -> None:
    """Search architecture, units, layers, dropout and learning rate with Hyperband, then train the best.

    Trials are ranked by exact validation perplexity on the held-out tail, as
    `fit` measures it. The search state is kept in the store's folder, so
    Ctrl-C stops cleanly and --resume continues without redoing finished
    trials. With --time-limit, the search takes the first half of the budget
    and the winner's training the rest. To spread trials over processes or
    machines, set keras-tuner's KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and
    KERASTUNER_ORACLE_PORT (see docs/scaling.md). Needs the `tune` extra:
    pip install 'charlm[tune]'.
    """
    from charlm.trainer import search_spec, tune_distributed
    from charlm.trainer import tune as tuning
    from charlm.trainer.compare import parse_archs
    from charlm.trainer.options import parse_duration
    from charlm.trainer.render import FitRenderer, dumps
    from charlm.trainer.tensorboard import Tee, TensorBoardLog

    console = Console(file=sys.stderr if as_json else sys.stdout)
    capture = FitRenderer(console, as_json=False)
    norm_opts = {"no_lowercase": options.pop("no_lowercase"), "byte_exact": options.pop("byte_exact")}
    with stop_signals_interrupt() as stopped, user_errors():
        search_spec.require_keras_tuner()
        role = tune_distributed.role()
        budget = parse_duration(time_limit)
        started = time.monotonic()
        arch_list = parse_archs(archs_text)
        paths = corpus_paths(corpus, sample)
        name = name_or_default(name, paths, sample, corpus, "tuned")
        data = load_for(paths, normalization_from_options(norm_opts), Console(stderr=True))
        if role == "worker":
            spec = search_spec.worker_spec(name)
        else:
            spec = search_spec.resolve_spec(name, data, options, resume=resume, force=force, arch_names=arch_list)
        log = TensorBoardLog(log_dir, name)
        view = Tee(_TuneView(console), log)
        try:
            result = tuning.search(data, name, spec, resume=resume, force=force, report=view,
                                   time_limit=budget / 2 if budget else None)
        except KeyboardInterrupt:
            again = ["charlm-train", "tune", *corpus, *(["--sample", sample] if sample else []), "--name", name]
            console.print(
                f"[yellow]interrupted[/]: the search is saved in {shown(search_spec.search_dir(name))}; "
                "continue it with "
                f"[bold]{shown(shlex.join(again))} --resume[/]",
                highlight=False,
            )
            raise SystemExit(exit_code(stopped)) from None
        if result is None:  # a distributed worker: the chief trains and stores the winner
            console.print("the search is over: the chief stores the best model")
            return
        c = result.best
        console.print(
            f"best of {len(result.trials)} trials: [bold]{c.describe()}[/], lr {c.training.learning_rate:g} "
            f"(trial {result.best_trial}, val perplexity {result.best_perplexity:.4f}); "
            f"training it as [bold]{shown(name)}[/]", highlight=False,
        )
        left = budget - (time.monotonic() - started) if budget else None
        interrupted = drive(tuning.final_fit(data, result, name, force=force, time_limit=left), Tee(capture, log))
    if as_json:
        click.echo(dumps(_tune_json(name, spec, result, capture.finished), indent=2))
    if interrupted or (capture.finished is not None and capture.finished.reason == "interrupted"):
        raise SystemExit(exit_code(stopped))
