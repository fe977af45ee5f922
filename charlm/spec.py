"""Settings declared once: the range, CLI flag, help and stepping ladder of every option.

A frozen dataclass declares each field with :func:`setting`; from that one
declaration come the validation of a value (with a message naming the
option), the strict reading of a JSON object (types, finiteness, ranges,
unknown keys), the click option of the command line and the steps of the
app's steppers. Nothing else in charlm repeats a range.

This module sits at the bottom of the package (it imports only
:mod:`charlm.errors`); click is imported only when a click type is asked for.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from charlm.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """What one setting accepts.

    Args:
        kind: ``int``, ``float``, ``bool`` or ``str``.
        lo, hi: inclusive bounds (None = unbounded), exclusive when ``lo_open``/``hi_open``.
        choices: the allowed strings of a ``str`` setting (empty = any string).
        optional: None is allowed (e.g. "no seed").
        flag: the command-line flag (``--units``); "" when the setting has none.
        help: one line for ``--help`` and the app.
        label: how messages name it (default: the flag without dashes, or the field name).
        ladder: values the app steps through (sorted); stepping stays within the range.
        multiple: the value is a tuple of such items (a JSON list; a repeatable flag).
        short: a one-letter alias of the flag (``-t``), or "".
    """

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    flag: str = ""
    help: str = ""
    label: str = ""
    ladder: tuple[float, ...] = ()
    multiple: bool = False
    short: str = ""

    def describe(self) -> str:
        """The accepted values in words: "between 1 and 4096", "in (0, 1]", "one of a, b"."""
        if self.multiple:
            return f"a list of {dataclasses.replace(self, multiple=False).describe()}"
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.lo is None and self.hi is None:
            return f"a {self.kind.__name__}"
        if self.lo is not None and self.hi is None:
            return f"{'>' if self.lo_open else '>='} {_num(self.lo)}"
        if self.lo is None:
            return f"{'<' if self.hi_open else '<='} {_num(self.hi)}"
        if self.kind is int and not (self.lo_open or self.hi_open):
            return f"between {_num(self.lo)} and {_num(self.hi)}"
        return f"in {'(' if self.lo_open else '['}{_num(self.lo)}, {_num(self.hi)}{')' if self.hi_open else ']'}"

    def contains(self, value: Any) -> bool:
        """Whether ``value`` (already of the right type) is allowed."""
        if value is None:
            return self.optional
        if self.multiple:
            item = dataclasses.replace(self, multiple=False, optional=False)
            return isinstance(value, tuple) and all(item.contains(v) for v in value)
        if self.kind is str:
            return not self.choices or value in self.choices
        if self.kind is bool:
            return True
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))

    def coerce(self, value: Any, name: str) -> Any:
        """``value`` as this setting's type, strictly (JSON reading): bool is not a number,
        an integral float is not an int, an int is accepted as a float; ranges checked.

        Raises:
            ConfigError: naming the setting and what it accepts.
        """
        label = self.label or name
        if value is None:
            if self.optional:
                return None
            raise ConfigError(f"{label} must be {self.describe()} (got null)")
        if self.multiple:
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{label} must be {self.describe()} (got {type(value).__name__})")
            item = dataclasses.replace(self, multiple=False, optional=False)
            return tuple(item.coerce(v, name) for v in value)
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not self.kind:
            raise ConfigError(f"{label} must be {_kind_name(self.kind)} (got {type(value).__name__})")
        self.check(value, name)
        return value

    def check(self, value: Any, name: str) -> None:
        """Raise ConfigError naming the setting unless ``value`` is allowed."""
        if not self.contains(value):
            shown = repr(value) if isinstance(value, str) else value
            raise ConfigError(f"{self.label or name} must be {self.describe()} (got {shown})")

    def step(self, value: Any, direction: int) -> Any:
        """The next ladder value above (direction > 0) or below ``value``; stays at the ends.

        ``value`` need not be on the ladder (a CLI value such as 0.75 steps to
        0.8 or 0.7). Choices cycle.
        """
        if self.choices:
            i = self.choices.index(value) if value in self.choices else 0
            return self.choices[(i + direction) % len(self.choices)]
        values = [v for v in self.ladder if self.contains(self.kind(v))]
        eps = 1e-9
        if direction > 0:
            nxt = next((v for v in values if v > value + eps), value)
        else:
            nxt = next((v for v in reversed(values) if v < value - eps), value)
        return self.kind(nxt)

    def click_type(self):
        """The click parameter type that accepts exactly this range."""
        import click

        if self.choices:
            return click.Choice(self.choices)
        if self.kind is int:
            return click.IntRange(_int_or_none(self.lo), _int_or_none(self.hi),
                                  min_open=self.lo_open, max_open=self.hi_open)
        if self.kind is float:
            return click.FloatRange(self.lo, self.hi, min_open=self.lo_open, max_open=self.hi_open)
        if self.kind is bool:
            return click.BOOL
        return click.STRING

    def click_option(self, default: Any = None, **extra: Any):
        """The click option of this setting's flag (decorator): its type, default, help and aliases.

        To tell options the user gave from defaults, ask click for the
        parameter's source (``ctx.get_parameter_source``). ``extra``
        overrides click keywords (e.g. ``type`` for a parsed string).
        """
        import click

        names = [self.flag, *([self.short] if self.short else []), param_name(self.flag)]
        kwargs: dict[str, Any] = {"type": self.click_type(), "multiple": self.multiple, "default": default,
                                  "help": self.help, "show_default": default not in (None, ())}
        return click.option(*names, **{**kwargs, **extra})


def _num(x: float | None) -> str:
    if x is None:
        return ""
    if float(x).is_integer() and abs(x) >= 1e5:
        n = int(x)
        for p in range(8, 64):  # 2**32 - 1 reads better than 4294967295
            if n == 2**p - 1:
                return f"2**{p}-1"
        return f"{n:,}".replace(",", "")
    return f"{x:g}"


def _int_or_none(x: float | None) -> int | None:
    return None if x is None else int(x)


def _kind_name(kind: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[kind]


def setting(default: Any, spec: Spec) -> Any:
    """A dataclass field with its :class:`Spec` (use as ``units: int = setting(192, Spec(int, 1, 4096))``)."""
    return dataclasses.field(default=default, metadata={"spec": spec})


def spec_of(cls_or_obj: Any, name: str) -> Spec:
    """The Spec declared for field ``name`` of a settings dataclass."""
    for f in fields(cls_or_obj):
        if f.name == name:
            return f.metadata["spec"]
    raise KeyError(name)


def specs(cls_or_obj: Any) -> dict[str, Spec]:
    """Field name -> Spec, for every declared setting of a dataclass, in field order."""
    return {f.name: f.metadata["spec"] for f in fields(cls_or_obj) if "spec" in f.metadata}


def validate(obj: Any) -> None:
    """Check every declared setting of ``obj`` (call it from ``__post_init__``).

    Raises:
        ConfigError: the first value out of its range, naming the option.
    """
    for name, spec in specs(obj).items():
        value = getattr(obj, name)
        if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(obj, name, float(value))
            value = float(value)
        if value is not None and spec.kind in (int, float) and isinstance(value, bool):
            raise ConfigError(f"{spec.label or name} must be {_kind_name(spec.kind)} (got bool)")
        spec.check(value, name)


def from_mapping(cls: type[T], data: Any, *, what: str = "config") -> T:
    """Build ``cls`` from a JSON object strictly: unknown keys, wrong types, NaN/inf and
    out-of-range values are errors; missing keys take their defaults.

    Raises:
        ConfigError: naming the key and what it accepts.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} must be a JSON object (got {type(data).__name__})")
    declared = specs(cls)
    unknown = sorted(str(k) for k in data if k not in declared)
    if unknown:
        raise ConfigError(f"unknown {what} keys: {', '.join(unknown)}")
    values = {k: declared[k].coerce(v, k) for k, v in data.items()}
    return cls(**values)


def to_mapping(obj: Any) -> dict[str, Any]:
    """The declared settings of ``obj`` as a JSON-ready dict (tuples become lists)."""
    out: dict[str, Any] = {}
    for name in specs(obj):
        value = getattr(obj, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def check_number(value: Any, name: str, lo: float | None = None, hi: float | None = None,
                 kind: type = float) -> Any:
    """A stand-alone strict check for numbers read from files (metrics, history).

    Raises:
        ConfigError: wrong type, NaN/inf, or out of ``[lo, hi]``.
    """
    return Spec(kind, lo, hi).coerce(value, name)


def flag_values(spec_map: Mapping[str, Spec], options: Mapping[str, Any]) -> dict[str, Any]:
    """Field values from parsed click options (keyed by the flag's parameter name); None = not given."""
    out: dict[str, Any] = {}
    for name, spec in spec_map.items():
        if not spec.flag:
            continue
        value = options.get(param_name(spec.flag))
        if value is not None:
            out[name] = value
    return out


def param_name(flag: str) -> str:
    """``--seq-length`` -> ``seq_length`` (click's parameter name)."""
    return flag.lstrip("-").replace("-", "_")


def from_env(var: str, spec: Spec, default: Any) -> Any:
    """A setting read from the environment variable ``var`` (``default`` when unset or blank),
    held to ``spec`` as a command-line value is: a variable is user input too.

    Raises:
        ConfigError: not a value of the setting's kind, or out of its range (the message names ``var``).
    """
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = spec.kind(raw) if spec.kind in (int, float) else raw
    except ValueError:
        raise ConfigError(f"{var} must be {spec.describe()} (got {raw!r})") from None
    spec.check(value, var)
    return value


def parse_json(text: str | bytes, what: str) -> Any:
    """JSON from a file or a variable a user controls (saved settings, a search's settings,
    ``TF_CONFIG``): any malformation, including nesting deep enough to exhaust Python's stack,
    is one ConfigError naming ``what``; the values are checked by the caller.

    Raises:
        ConfigError: not JSON.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ConfigError(f"{what} is malformed (nested too deeply)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} is not valid JSON ({exc})") from None
