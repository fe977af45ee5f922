"""`charlm-train`: fit, list, show, eval, rm, compare, tune. Parses options, calls the library."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import click
from rich.console import Console

from charlm.cli_common import EXIT_INTERRUPTED, CliError, Group, user_errors
from charlm.trainer.options import config_from_options, model_options, pop_model_options


def corpus_paths(corpus: tuple[str, ...], sample: str | None) -> list[str]:
    from charlm.data.samples import sample_path

    paths = list(corpus)
    if sample:
        paths.append(str(sample_path(sample)))
    if not paths:
        raise CliError("give a CORPUS (file, folder or -) or --sample NAME")
    return paths


def default_name(paths: list[str], arch: str) -> str:
    """A store name derived from the first corpus and the architecture."""
    stem = "stdin" if paths[0] == "-" else Path(paths[0].rstrip("/")).stem or "corpus"
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "-", stem).strip("-.") or "corpus"
    return f"{stem[:50]}-{arch}"


def load_for(paths: list[str], config, console: Console):
    from charlm.data import load_corpus
    from charlm.data.samples import sample_label

    corpus = load_corpus(paths, config.normalization)
    corpus = dataclasses.replace(corpus, sources=tuple(sample_label(s) for s in corpus.sources))
    for warning in corpus.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return corpus


def run_fit(events, renderer) -> int:
    """Drive a fit generator; Ctrl-C is thrown into it so it saves the best model."""
    finished = None
    try:
        try:
            for event in events:
                renderer(event)
                finished = event
        except KeyboardInterrupt:
            event = events.throw(KeyboardInterrupt())
            renderer(event)
            finished = event
            events.close()
    finally:
        renderer.close()
    return EXIT_INTERRUPTED if getattr(finished, "reason", "") == "interrupted" else 0


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="charlm")
def cli() -> None:
    """Train character-level language models (SimpleRNN, LSTM, GRU) and manage the model store."""


@cli.command()
@click.argument("corpus", nargs=-1)
@click.option("--sample", metavar="NAME", help="Train on a sample corpus shipped with charlm (e.g. 'rioplatense').")
@click.option("--name", help="Store name (default: corpus file name + architecture).")
@model_options()
@click.option(
    "--force", is_flag=True, help="Retrain even if an identical model is cached; replace a model of that name."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted model.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per epoch, then a final one.")
def fit(corpus, sample, name, force, resume, as_json, **options) -> None:
    """Train a model on CORPUS (.srt, .vtt, .txt, .md files, folders, or - for stdin).

    Validation is the last part of the corpus, never trained on; training stops
    when its perplexity has not improved for --patience epochs, keeping the best
    weights. Ctrl-C saves the best model so far.
    """
    from charlm.trainer.fit import fit as fit_model
    from charlm.trainer.render import FitRenderer

    console = Console(stderr=as_json)
    with user_errors():
        paths = corpus_paths(corpus, sample)
        config = config_from_options(pop_model_options(options))
        name = name or default_name(paths if not sample or corpus else [sample], config.arch)
        data = load_for(paths, config, console)
        code = run_fit(fit_model(data, config, name, force=force, resume=resume), FitRenderer(console, as_json))
    if code:
        raise SystemExit(code)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of models.")
def list_cmd(as_json: bool) -> None:
    """List stored models, newest first, and the built-in default."""
    from charlm import store
    from charlm.trainer.render import models_table, record_summary

    with user_errors():
        records = store.list_models()
    if as_json:
        click.echo(json.dumps([record_summary(r) for r in records], indent=2))
    elif not records:
        Console().print("no models yet: train one with [bold]charlm-train fit CORPUS[/]")
    else:
        Console().print(models_table(records))


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Config and history as JSON.")
@click.option(
    "--plot", type=click.Path(dir_okay=False, writable=True), help="Write the validation-perplexity curve to a PNG."
)
def show(name: str, as_json: bool, plot: str | None) -> None:
    """Show a model's configuration, corpus, metrics and training history."""
    from charlm import store
    from charlm.trainer.render import record_details, show_lines

    with user_errors():
        record = store.resolve(name)
        if plot:
            from charlm.trainer.plot import plot_histories

            plot_histories([record], Path(plot))
    if as_json:
        click.echo(json.dumps(record_details(record), indent=2, ensure_ascii=False))
        return
    console = Console()
    for part in show_lines(record):
        console.print(part)
    if plot:
        console.print(f"curve written to {plot}")


@cli.command("eval")
@click.argument("name")
@click.argument("corpus", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def eval_cmd(name: str, corpus: tuple[str, ...], as_json: bool) -> None:
    """Perplexity and bits per character of CORPUS under model NAME."""
    from charlm.engine import Engine

    console = Console(stderr=True)
    with user_errors():
        engine = Engine.load(name)
        data = load_for(list(corpus), engine.record.config, console)
        result = engine.score(data.text)
    if result.unknown:
        console.print(
            f"[yellow]warning:[/] {result.unknown} characters are not in the model's vocabulary "
            f"({''.join(result.unknown_chars)[:40]!r}) and were scored as the unknown symbol"
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "model": engine.record.name,
                    "perplexity": result.perplexity,
                    "bits_per_char": result.bits_per_char,
                    "chars": result.chars,
                    "unknown_chars": result.unknown,
                }
            )
        )
    else:
        Console().print(
            f"{engine.record.name}: perplexity [bold]{result.perplexity:.4f}[/], "
            f"{result.bits_per_char:.4f} bits/char over {result.chars:,} characters"
        )


@cli.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def rm(name: str, yes: bool) -> None:
    """Remove model NAME from the store."""
    from charlm import store

    with user_errors():
        if name == store.BUILTIN_NAME:
            store.remove_model(name)  # refuses with a clear message
        record = store.load_record(name)
        interactive = sys.stdin is not None and sys.stdin.isatty()
        if interactive and not yes and not click.confirm(f"remove {record.name} ({record.path})?", err=True):
            raise CliError("not removed")
        store.remove_model(name)
    click.echo(f"removed {name}")


def _register_experiment_commands() -> None:
    """`compare` and `tune` live in their own module (kept out of this file's size)."""
    from charlm.trainer.experiments_cli import compare, tune

    cli.add_command(compare)
    cli.add_command(tune)


_register_experiment_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
