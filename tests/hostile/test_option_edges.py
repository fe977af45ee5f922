"""Attacks with numbers at their edges: every value `charlm-train fit --help` allows trains (or is a
one-line error about the corpus), never a traceback. The edges come from the option declarations
themselves, so a new option is covered as soon as it is declared."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from charlm import archs, spec
from charlm.config import TrainConfig
from charlm.trainer.cli import cli

#: Kept small whatever the edge, so each run is one quick epoch.
BASE = {"--units": "8", "--embedding": "4", "--seq-length": "16", "--batch-size": "8", "--epochs": "1",
        "--layers": "1", "--lr": "0.01"}
#: Edges tried on their own, each with BASE: together they would make one run slow or meaningless.
ALONE = {"--units", "--layers", "--embedding", "--seq-length", "--batch-size", "--val-fraction"}
#: Edges not run (the run would take as long as the edge asks); click still checks both ends.
SKIP = {("--epochs", "hi"), ("--patience", "hi"), ("--warmup", "hi"), ("--units", "hi")}


def recurrent_edges() -> dict[str, dict[str, str]]:
    """Runs to try: "lo"/"hi" with every edge of the shared options, plus one run per ALONE edge."""
    declared = list(spec.specs(archs.get("lstm").config_cls).values()) + list(spec.specs(TrainConfig).values())
    runs: dict[str, dict[str, str]] = {"lo": {}, "hi": {}}
    for s in declared:
        if not s.flag or s.kind not in (int, float):
            continue
        for end, value, is_open in (("lo", s.lo, s.lo_open), ("hi", s.hi, s.hi_open)):
            if value is None or (s.flag, end) in SKIP:
                continue
            if is_open:  # the nearest allowed value
                value = value + 1e-6 if end == "lo" else value - 1e-6
            text = str(int(value) if s.kind is int else value)
            if s.flag in ALONE:
                runs[f"{s.flag}={text}"] = {s.flag: text}
            else:
                runs[end][s.flag] = text
    return runs


def run_fit(options: dict[str, str], tiny_srt):
    args = ["fit", str(tiny_srt), "--name", "edge", "--force"]
    for flag, value in {**BASE, **options}.items():
        args += [flag, value]
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize(("label", "options"), list(recurrent_edges().items()), ids=list(recurrent_edges()))
def test_every_allowed_value_trains_or_says_why_not(label, options, tiny_srt):
    result = run_fit(options, tiny_srt)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code != 0:
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
        assert "too short" in lines[0], lines[0]  # the only reason an allowed value may not train here


@pytest.mark.parametrize("args", [["--units", "0"], ["--units", "4097"], ["--lr", "0"], ["--lr", "nan"],
                                  ["--dropout", "1"], ["--seed", "-1"], ["--seed", str(2**32)],
                                  ["--val-fraction", "0.9"], ["--time-limit", "0"], ["--time-limit", "soon"],
                                  ["--clipnorm", "inf"], ["--batch-size", "1e3"]])
def test_out_of_range_values_are_one_line_errors(args, tiny_srt):
    result = CliRunner().invoke(cli, ["fit", str(tiny_srt), *args])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
