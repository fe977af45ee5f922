"""`charlm`: open the app, or `--once` to complete a prompt from the argument or stdin.

Nothing here imports TensorFlow unless `--backend keras` is asked for.
"""

from __future__ import annotations

import json
import sys

import click

from charlm.cli_common import CliError, Command, user_errors
from charlm.engine.settings import MODES, DecodeSettings


def read_prompt(argument: str | None, stdin) -> str:
    """Stdin first (when piped), then the argument; one trailing newline of stdin dropped."""
    parts = []
    if stdin is not None and not stdin.isatty():
        data = stdin.read()
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
@click.option(
    "--mode", type=click.Choice(MODES), default=DecodeSettings.mode, show_default=True, help="Decoding strategy."
)
@click.option(
    "--temperature",
    "-t",
    type=click.FloatRange(0.0, 100.0),
    default=DecodeSettings.temperature,
    show_default=True,
    help="Sampling temperature (sample, sampled-beam); 0 = greedy.",
)
@click.option(
    "--beam-width",
    "-k",
    type=click.IntRange(1, 256),
    default=DecodeSettings.beam_width,
    show_default=True,
    help="Beams for beam and sampled-beam.",
)
@click.option(
    "--top-k", type=click.IntRange(0), default=0, help="Sample only among the K most likely characters (0 = off)."
)
@click.option(
    "--top-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=1.0, help="Nucleus sampling mass (1 = off)."
)
@click.option(
    "--no-repeat-ngram",
    type=click.IntRange(0, 64),
    default=0,
    help="Never repeat an n-gram of this many characters (0 = off).",
)
@click.option(
    "--length-penalty", type=click.FloatRange(0.0, 10.0), default=0.0, help="Beam score = logp / length**alpha."
)
@click.option(
    "--length",
    "-n",
    type=click.IntRange(0, 100_000),
    default=DecodeSettings.length,
    show_default=True,
    help="Characters to generate.",
)
@click.option("--stop", multiple=True, help="Stop before this string (repeatable; '\\n' for a newline).")
@click.option(
    "--num",
    type=click.IntRange(1, 256),
    default=1,
    help="How many completions (beam n-best, sampled-beam or sample draws), one per line.",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Random seed (same seed, same output).")
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
def cli(
    prompt,
    once,
    model_name,
    mode,
    temperature,
    beam_width,
    top_k,
    top_p,
    no_repeat_ngram,
    length_penalty,
    length,
    stop,
    num,
    seed,
    as_json,
    backend,
) -> None:
    """Play with a character-level language model.

    Without --once, opens the terminal app. With --once, completes PROMPT
    (and/or text piped on stdin) and prints only the completion.
    """
    stops = tuple(s.encode().decode("unicode_escape") if "\\" in s else s for s in stop)
    with user_errors():
        settings = DecodeSettings(
            mode=mode,
            temperature=temperature,
            beam_width=max(beam_width, num) if mode in ("beam", "sampled-beam") else beam_width,
            top_k=top_k,
            top_p=top_p,
            no_repeat_ngram=no_repeat_ngram,
            length=length,
            stop=stops,
            num=num,
            seed=seed,
            length_penalty=length_penalty,
        )
    if not once:
        from charlm.tui.launch import launch

        with user_errors():
            launch(model_name, settings, prompt or "")
        return
    if num > 1 and mode == "greedy":
        raise CliError("--num > 1 needs --mode beam, sampled-beam or sample (greedy has one answer)")
    text = read_prompt(prompt, sys.stdin)
    with user_errors():
        from charlm.engine import Engine

        engine = Engine.load(model_name, backend=backend)
        unknown = engine.unknown_chars(text)
        if unknown:
            click.echo(
                f"note: prompt characters not in the model's vocabulary were read as unknown: {''.join(unknown)!r}",
                err=True,
            )
        streaming = not as_json and num == 1
        results = run_once(engine, text, settings, sys.stdout if streaming else None)
    out = sys.stdout
    if as_json:
        out.write(
            json.dumps(
                {
                    "model": engine.record.name if engine.record else None,
                    "prompt": text,
                    "mode": mode,
                    "settings": settings.to_dict(),
                    "completion": results[0]["text"],
                    "completions": results,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    elif streaming:
        out.write("\n")
    else:
        for r in results:
            out.write(r["text"] + "\n")
    out.flush()


def run_once(engine, text: str, settings: DecodeSettings, stream=None) -> list[dict]:
    """Generate; chunks are written to ``stream`` (flushed) as they come, if given."""
    from charlm.engine.stream import Chunk, Finished

    if settings.mode == "sample" and settings.num > 1:
        base = settings.seed
        finals = [
            engine.generate(text, settings.replace(num=1, seed=None if base is None else base + i))
            for i in range(settings.num)
        ]
        return [{"text": f.text, "logprob": f.hypotheses[0].logprob} for f in finals]
    final = None
    for event in engine.stream(text, settings):
        if isinstance(event, Chunk) and stream is not None and event.text:
            stream.write(event.text)
            stream.flush()
        elif isinstance(event, Finished):
            final = event
    assert final is not None
    if settings.num == 1 or not final.hypotheses:
        best = final.hypotheses[0] if final.hypotheses else None
        return [{"text": final.text, "logprob": best.logprob if best else None}]
    return [{"text": h.text, "logprob": h.logprob, "score": h.score} for h in final.hypotheses[: settings.num]]


def main() -> None:
    cli()
