"""Attacks with huge prompts: memory stays independent of the prompt's length beyond the text itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import random_model
from tests.hostile.conftest import ROOT

MEASURE = """
import resource, sys
from charlm.engine import DecodeSettings, Engine
engine = Engine.load("m")
prompt = "hola che, ¿qué tal? " * ({n} // 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
text = engine.generate(prompt, DecodeSettings(mode="greedy", length=20)).text
score = engine.score(prompt)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(text), score.chars, (after - before) // 1024)
"""


def grown_mb(n: int, home) -> tuple[int, int, int]:
    env = {**os.environ, "CHARLM_HOME": str(home), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", MEASURE.format(n=n)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return tuple(int(x) for x in out.stdout.split())


def test_reading_and_scoring_a_long_prompt_uses_memory_independent_of_its_length(charlm_home):
    random_model("m", "lstm", units=16, text="hola che, ¿qué tal? \n")
    _, chars_small, small = grown_mb(20_000, charlm_home)
    length, chars_big, big = grown_mb(400_000, charlm_home)
    assert length == 20 and chars_big == 400_000 and chars_small == 20_000
    # 20x the prompt: only the text and its ids grow (a few MB), never the model's work
    assert big - small < 30, (small, big)


def test_the_once_command_reads_a_long_prompt_from_stdin(charlm_home):
    random_model("m", "lstm", units=16, text="hola che, ¿qué tal? \n")
    env = {**os.environ, "CHARLM_HOME": str(charlm_home), "PYTHONPATH": str(ROOT)}
    prompt = ("hola che, ¿qué tal? " * 10_000).encode()
    out = subprocess.run([sys.executable, "-m", "charlm", "--once", "--json", "-n", "10", "--mode", "greedy"],
                         input=prompt, capture_output=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    assert len(json.loads(out.stdout)["completion"]) == 10
