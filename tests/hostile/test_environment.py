"""Attacks through the environment: every variable charlm reads is user input, held to a range and
refused with one line naming the variable, before TensorFlow starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from charlm.trainer.cli import cli
from tests.hostile.conftest import one_line_error

CLUSTER = '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}'


@pytest.mark.parametrize("value", ["abc", "0", "-3", "100000", "1e3", "nan"])
def test_cpu_replicas_out_of_range_or_not_a_number(tiny_srt, monkeypatch, value):
    monkeypatch.setenv("CHARLM_CPU_REPLICAS", value)
    result = CliRunner().invoke(cli, ["fit", str(tiny_srt), "--strategy", "mirrored", "--name", "r"])
    one_line_error(result, "CHARLM_CPU_REPLICAS must be between 1 and 64")


@pytest.mark.parametrize("value", ["abc", "0", "nan", "inf", "-1", "1e9"])
def test_collective_timeout_out_of_range_or_not_a_number(tiny_srt, monkeypatch, value):
    monkeypatch.setenv("CHARLM_COLLECTIVE_TIMEOUT", value)
    monkeypatch.setenv("TF_CONFIG", CLUSTER)
    result = CliRunner().invoke(cli, ["fit", str(tiny_srt), "--strategy", "multi-worker", "--name", "r"])
    one_line_error(result, "CHARLM_COLLECTIVE_TIMEOUT must be in [1, 86400]")


@pytest.mark.parametrize("port", ["http", "0", "70000", "80.5"])
def test_a_search_port_that_is_not_a_port(tiny_srt, monkeypatch, port):
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", port)
    result = CliRunner().invoke(cli, ["tune", str(tiny_srt), "--name", "t"])
    one_line_error(result, "KERASTUNER_ORACLE_PORT must be between 1 and 65535")


def test_blank_variables_mean_the_defaults(monkeypatch):
    from charlm.spec import from_env
    from charlm.trainer.distribute import COLLECTIVE_TIMEOUT

    monkeypatch.setenv("CHARLM_COLLECTIVE_TIMEOUT", "  ")
    assert from_env("CHARLM_COLLECTIVE_TIMEOUT", COLLECTIVE_TIMEOUT, 300.0) == 300.0
    monkeypatch.setenv("CHARLM_COLLECTIVE_TIMEOUT", " 12.5 ")
    assert from_env("CHARLM_COLLECTIVE_TIMEOUT", COLLECTIVE_TIMEOUT, 300.0) == 12.5
