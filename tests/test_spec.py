"""Settings declared once: validation, strict JSON reading, click types and app steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import click
import pytest

from charlm import spec
from charlm.errors import ConfigError
from charlm.spec import Spec, setting


@dataclass(frozen=True)
class Demo:
    units: int = setting(8, Spec(int, 1, 64, flag="--units", ladder=(1, 2, 4, 8, 16, 32, 64, 128)))
    rate: float = setting(0.5, Spec(float, 0.0, 1.0, lo_open=True, flag="--rate"))
    mode: str = setting("a", Spec(str, choices=("a", "b", "c"), flag="--mode"))
    seed: int | None = setting(None, Spec(int, 0, 2**63 - 1, optional=True))
    on: bool = setting(True, Spec(bool))

    def __post_init__(self) -> None:
        spec.validate(self)


def test_out_of_range_values_name_the_option():
    with pytest.raises(ConfigError, match=r"units must be between 1 and 64 \(got 0\)"):
        Demo(units=0)
    with pytest.raises(ConfigError, match=r"rate must be in \(0, 1\]"):
        Demo(rate=0.0)
    with pytest.raises(ConfigError, match="mode must be one of a, b, c"):
        Demo(mode="z")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(bad):
    with pytest.raises(ConfigError, match="rate"):
        Demo(rate=bad)


def test_json_reading_is_strict_about_types():
    assert spec.from_mapping(Demo, {"units": 4, "rate": 1}) == Demo(units=4, rate=1.0)
    for data in ({"units": "4"}, {"units": 4.0}, {"units": True}, {"on": 1}, {"rate": "0.5"}, {"seed": 1.5}):
        with pytest.raises(ConfigError):
            spec.from_mapping(Demo, data)


def test_json_reading_rejects_unknown_keys_and_non_objects():
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        spec.from_mapping(Demo, {"colour": "red"})
    for data in ([1, 2], "units", 3, None):
        with pytest.raises(ConfigError, match="must be a JSON object"):
            spec.from_mapping(Demo, data)


def test_round_trip_and_optional_values():
    demo = Demo(units=16, seed=2**63 - 1)
    assert spec.from_mapping(Demo, spec.to_mapping(demo)) == demo
    assert spec.from_mapping(Demo, {"seed": None}).seed is None


def test_click_types_accept_exactly_the_range():
    units = spec.spec_of(Demo, "units").click_type()
    assert units.convert("64", None, None) == 64
    with pytest.raises(click.BadParameter):
        units.convert("65", None, None)
    rate = spec.spec_of(Demo, "rate").click_type()
    with pytest.raises(click.BadParameter):
        rate.convert("0", None, None)
    assert rate.convert("1", None, None) == 1.0
    assert isinstance(spec.spec_of(Demo, "mode").click_type(), click.Choice)


def test_steps_follow_the_ladder_within_the_range():
    units = spec.spec_of(Demo, "units")
    assert units.step(8, 1) == 16
    assert units.step(64, 1) == 64  # 128 is on the ladder but out of range
    assert units.step(1, -1) == 1
    assert units.step(5, 1) == 8 and units.step(5, -1) == 4  # off-ladder values step to neighbours
    mode = spec.spec_of(Demo, "mode")
    assert mode.step("c", 1) == "a" and mode.step("a", -1) == "c"


def test_flag_values_picks_only_given_options():
    got = spec.flag_values(spec.specs(Demo), {"units": 4, "rate": None, "mode": "b"})
    assert got == {"units": 4, "mode": "b"}


def test_describe_reads_well_for_big_bounds():
    assert Spec(int, 0, 2**32 - 1).describe() == "between 0 and 2**32-1"
