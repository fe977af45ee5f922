"""`charlm-train`: fit, list, show, eval, rm, compare, tune. Parses options, calls the library."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from charlm.cli_common import CliError, Group, user_errors
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
from charlm.trainer.options import config_from_options, model_options, pop_model_options


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="charlm")
def cli() -> None:
    """Train character-level language models (SimpleRNN, LSTM, GRU, Transformer) and manage the model store."""


def _fit_config(name: str, options: dict, resume: bool):
    """The config to fit: on --resume the stored model's, with what the user gave on top."""
    if resume:
        from charlm import store
        from charlm.errors import ModelNotFoundError

        try:
            base = store.load_record(name).config
        except ModelNotFoundError:
            base = None
        if base is not None:
            return config_from_options(options, base)
    return config_from_options(options)


@cli.command()
@click.argument("corpus", nargs=-1)
@click.option("--sample", metavar="NAME", help="Train on a sample corpus shipped with charlm (e.g. 'rioplatense').")
@click.option("--name", help="Store name (default: corpus file name + architecture).")
@model_options()
@click.option("--force", is_flag=True,
              help="Retrain even if an identical model is cached; replace a model of that name.")
@click.option("--resume", is_flag=True, help="Continue an interrupted model, or train a finished one further "
                                            "(with a larger --epochs or --time-limit).")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="auto", show_default=True,
              help="auto: one device, or all GPUs when there are several; mirrored: all local GPUs (or CPU "
                   "replicas); multi-worker: several machines, from TF_CONFIG (see docs/scaling.md).")
@click.option("--log-dir", type=click.Path(file_okay=False), help="Write TensorBoard scalars here.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per epoch, then a final one.")
def fit(corpus, sample, name, force, resume, strategy, log_dir, as_json, **options) -> None:
    """Train a model on CORPUS (.srt, .vtt, .txt, .md files, folders, or - for stdin).

    Validation is the last part of the corpus, never trained on; training stops
    when its perplexity has not improved for --patience epochs, keeping the best
    weights. Ctrl-C (or SIGTERM, SIGHUP) saves the best model so far.
    """
    from charlm import store
    from charlm.trainer.distribute import make_cluster
    from charlm.trainer.fit import fit as fit_model
    from charlm.trainer.render import FitRenderer
    from charlm.trainer.tensorboard import Tee, TensorBoardLog

    console = Console(stderr=as_json)
    warnings = Console(stderr=True)
    model_opts = pop_model_options(options)
    renderer = FitRenderer(console, as_json)
    with stop_signals_interrupt() as stopped:
        try:
            with user_errors():
                paths = corpus_paths(corpus, sample)
                name = name_or_default(name, paths, sample, corpus, model_opts.get("arch") or "lstm")
                config = _fit_config(name, model_opts, resume)
                cluster = make_cluster(strategy)
                if cluster.is_chief:
                    store.ensure_writable()
                data = load_for(paths, config.normalization, warnings)
                sink = Tee(renderer, TensorBoardLog(log_dir, name, enabled=cluster.is_chief))
                drive(fit_model(data, config, name, force=force, resume=resume, cluster=cluster), sink)
        except KeyboardInterrupt:
            renderer.close()
            console.print("[yellow]interrupted[/] before the first epoch ended: nothing saved")
            raise SystemExit(exit_code(stopped)) from None
    if renderer.finished is not None and renderer.finished.reason == "interrupted":
        raise SystemExit(exit_code(stopped))


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of models.")
def list_cmd(as_json: bool) -> None:
    """List stored models, newest first, and the built-in default. Broken models are listed with why."""
    from charlm import store
    from charlm.trainer.render import entry_summary, models_table

    with user_errors():
        entries = store.scan()
    if as_json:
        from charlm.trainer.render import dumps

        click.echo(dumps([entry_summary(e) for e in entries], indent=2))
    elif not entries:
        Console().print("no models yet: train one with [bold]charlm-train fit CORPUS[/]")
    else:
        Console().print(models_table(entries))


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Config and history as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True),
              help="Write the validation-perplexity curve to a PNG.")
def show(name: str, as_json: bool, plot: str | None) -> None:
    """Show a model's configuration, corpus, metrics and training history."""
    from charlm import store
    from charlm.trainer.render import dumps, record_details, show_lines

    with user_errors():
        record = store.resolve(name)
        if plot:
            from charlm.trainer.plot import plot_histories

            plot_histories([record], Path(plot))
    if as_json:
        click.echo(dumps(record_details(record), indent=2))
        return
    console = Console()
    for part in show_lines(record):
        console.print(part)
    if plot:
        console.print(f"curve written to {shown(plot)}", highlight=False)


@cli.command("eval")
@click.argument("name")
@click.argument("corpus", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def eval_cmd(name: str, corpus: tuple[str, ...], as_json: bool) -> None:
    """Perplexity and bits per character of CORPUS under model NAME."""
    from charlm.engine import Engine
    from charlm.trainer.render import dumps

    console = Console(stderr=True)
    with user_errors():
        engine = Engine.load(name)
        data = load_for(list(corpus), engine.record.config.normalization, console)
        result = engine.score(data.text)
    if result.unknown:
        console.print(
            f"[yellow]warning:[/] {result.unknown} characters are not in the model's vocabulary "
            f"({shown(repr(''.join(result.unknown_chars)[:40]))}) and were scored as the unknown symbol",
            highlight=False,
        )
    if as_json:
        click.echo(dumps({"model": engine.record.name, "perplexity": result.perplexity,
                          "bits_per_char": result.bits_per_char, "chars": result.chars,
                          "unknown_chars": result.unknown}))
    else:
        Console().print(
            f"{shown(engine.record.name)}: perplexity [bold]{result.perplexity:.4f}[/], "
            f"{result.bits_per_char:.4f} bits/char over {result.chars:,} characters", highlight=False
        )


@cli.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def rm(name: str, yes: bool) -> None:
    """Remove model NAME from the store (broken models too)."""
    from charlm import store

    with user_errors():
        if name == store.BUILTIN_NAME:
            store.remove_model(name)  # refuses with a clear message
        store.validate_name(name)
        folder = store.models_dir() / name
        if not folder.is_dir():
            store.load_record(name)  # raises ModelNotFoundError with the known names
        interactive = sys.stdin is not None and sys.stdin.isatty()
        if interactive and not yes and not click.confirm(f"remove {shown(name)} ({shown(folder)})?", err=True):
            raise CliError("not removed")
        store.remove_model(name)
    click.echo(f"removed {shown(name)}")


def _register_experiment_commands() -> None:
    """`compare` and `tune` live in their own module (kept out of this file's size)."""
    from charlm.trainer.experiments_cli import compare, tune

    cli.add_command(compare)
    cli.add_command(tune)


_register_experiment_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    from charlm.entry import charlm_train

    charlm_train()
