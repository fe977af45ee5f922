"""`charlm`: open the app, or `--once` to complete a prompt from the argument or stdin.

Every decoding option is derived from :class:`~charlm.engine.settings.DecodeSettings`
(its range, help and default are declared there once); which modes read which
option comes from :mod:`charlm.engine.modes`, and the ``--num`` results come
from the engine (:mod:`charlm.engine.results`), as in the app. Output is
escaped for the terminal. Nothing here imports TensorFlow unless
`--backend keras` is asked for.
"""

from __future__ import annotations

import sys

import click

from charlm import spec
from charlm.cli_common import CliError, Command, user_errors
from charlm.engine.modes import mode as mode_of
from charlm.engine.settings import DecodeSettings, parse_escapes
from charlm.errors import ConfigError


class EscapedText(click.ParamType):
    """A string with backslash escapes (``\\n``, ``\\t``, ``\\xHH``...), read strictly."""

    name = "TEXT"

    def convert(self, value, param, ctx):
        try:
            return parse_escapes(value)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


def decode_options(f):
    """One click option per decoding setting, from its Spec."""
    defaults = DecodeSettings()
    for name, setting in reversed(list(spec.specs(DecodeSettings).items())):
        extra = {"type": EscapedText()} if name == "stop" else {}
        f = setting.click_option(getattr(defaults, name), **extra)(f)
    return f


def given_options(options: dict) -> dict:
    """The decoding options the user gave (the app keeps its saved settings for the others)."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    return {name: value for name, value in options.items()
            if name in spec.specs(DecodeSettings)
            and ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)}


#: The longest prompt read from stdin, in characters: reading one costs about 20 us a character
#: (a 1 MB prompt: 20 s, under 100 MB of memory), and an endless pipe must end in a message.
MAX_PROMPT_CHARS = 10_000_000


def read_prompt(argument: str | None, stdin) -> str:
    """Stdin first (when piped), then the argument; one trailing newline of stdin dropped.

    Raises:
        CliError: stdin holds more than MAX_PROMPT_CHARS characters.
    """
    parts = []
    if stdin is not None and not stdin.isatty():
        data = stdin.read(MAX_PROMPT_CHARS + 1)
        if len(data) > MAX_PROMPT_CHARS:
            raise CliError(f"the prompt on stdin is longer than {MAX_PROMPT_CHARS:,} characters; "
                           "give its end instead (e.g. tail -c 100000)")
        if data.endswith("\n"):
            data = data[:-1]
        parts.append(data)
    if argument:
        parts.append(argument)
    return "".join(parts)


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("prompt", required=False)
@click.option("--once", is_flag=True, help="Complete the prompt, print to stdout and exit (no app).")
@click.option(
    "--model",
    "-m",
    "model_name",
    metavar="NAME",
    help="Model name or folder (default: newest trained, else the built-in).",
)
@decode_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (prompt, completions, settings, log-probabilities)."
)
@click.option(
    "--backend",
    type=click.Choice(["numpy", "keras"]),
    default="numpy",
    show_default=True,
    help="Inference runtime (keras imports TensorFlow).",
)
@click.version_option(package_name="charlm")
def cli(prompt, once, model_name, as_json, backend, **options) -> None:
    """Play with a character-level language model.

    Without --once, opens the terminal app (decoding options given here
    apply to this launch; the others are those of the last session). With
    --once, completes PROMPT (and/or text piped on stdin) and prints only
    the completion.
    """
    given = given_options(options)
    with user_errors():
        settings = DecodeSettings(**given)
    if not once:
        from charlm.tui.terminal import terminal_problem

        problem = terminal_problem()
        if problem:
            raise CliError(problem)
        from charlm.tui.launch import launch

        with user_errors():
            status = launch(model_name, given, prompt or "")
        sys.exit(status)
    if settings.num > 1 and not mode_of(settings.mode).results:
        raise CliError(f"--num > 1 needs a mode with several results, not {settings.mode} (it has one answer)")
    text = read_prompt(prompt, sys.stdin)
    with user_errors():
        from charlm.data.sanitize import terminal_safe
        from charlm.engine import Engine

        engine = Engine.load(model_name, backend=backend)
        unknown = engine.unknown_chars(text)
        if unknown:
            shown = terminal_safe(repr("".join(unknown)), single_line=True)
            click.echo(f"note: prompt characters not in the model's vocabulary were read as unknown: {shown}",
                       err=True)
        streaming = not as_json and settings.num == 1
        results = run_once(engine, text, settings, sys.stdout if streaming else None)
    out = sys.stdout
    if as_json:
        from charlm.data.sanitize import json_dumps

        out.write(json_dumps({
            "model": engine.record.name if engine.record else None,
            "prompt": text,
            "mode": settings.mode,
            "settings": settings.to_dict(),
            "completion": results[0]["text"],
            "completions": results,
        }) + "\n")
    elif streaming:
        out.write("\n")
    else:
        for r in results:
            out.write(terminal_safe(r["text"]) + "\n")
    out.flush()


def run_once(engine, text: str, settings: DecodeSettings, stream=None) -> list[dict]:
    """Generate the ``num`` results; chunks of the first are written to ``stream`` (flushed), if given.

    Written text is escaped for the terminal; the returned texts are the model's own.
    """
    from charlm.data.sanitize import terminal_safe
    from charlm.engine.stream import Chunk, Finished

    final = None
    for event in engine.stream(text, settings):
        if isinstance(event, Chunk) and stream is not None and event.text:
            stream.write(terminal_safe(event.text))
            stream.flush()
        elif isinstance(event, Finished):
            final = event
    assert final is not None
    beam = mode_of(settings.mode).beam
    return [{"text": h.text, "logprob": h.logprob, **({"score": h.score} if beam else {})}
            for h in final.hypotheses[: settings.num]]


def main() -> None:
    cli()
