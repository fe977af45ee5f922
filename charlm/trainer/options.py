"""The model options of `fit`, `compare` and `tune`, derived from the config declarations.

Every architecture's config fields and every ``TrainConfig`` field carry a
:class:`~charlm.spec.Spec` (range, flag, help); the click options here are
made from them, so a range is written once. A flag that several
architectures share (``--layers``, ``--dropout``) accepts the union of their
ranges on the command line and each architecture checks its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from charlm import archs, spec
from charlm.config import ModelConfig, TrainConfig
from charlm.data.normalize import Normalization
from charlm.errors import ConfigError
from charlm.spec import Spec

#: Options that are flags of their own rather than a field's Spec.
EXTRA = ("arch", "one_hot", "no_lowercase", "byte_exact", "stateful", "time_limit")


def _arch_flags() -> dict[str, list[tuple[str, str, Spec]]]:
    """flag -> [(arch name, field, spec)] over every registered architecture."""
    out: dict[str, list[tuple[str, str, Spec]]] = {}
    for arch in archs.REGISTRY.values():
        for field, s in spec.specs(arch.config_cls).items():
            if s.flag:
                out.setdefault(s.flag, []).append((arch.name, field, s))
    return out


def _union(specs: list[Spec]) -> Spec:
    """One click range accepting every architecture's values of a shared flag."""
    first = specs[0]
    if len(specs) == 1:
        return first
    los = [s.lo for s in specs]
    his = [s.hi for s in specs]
    return Spec(first.kind, None if None in los else min(los), None if None in his else max(his),
                lo_open=all(s.lo_open for s in specs), hi_open=all(s.hi_open for s in specs),
                choices=tuple(dict.fromkeys(c for s in specs for c in s.choices)))


def _help(entries: list[tuple[str, str, Spec]]) -> str:
    """One help text for a flag: shared wording once, else each architecture group's own."""
    by_help: dict[str, list[str]] = {}
    for arch, _, s in entries:
        by_help.setdefault(s.help, []).append(arch)
    names = [a for a, _, _ in entries]
    if len(by_help) == 1:
        scope = "" if set(names) >= set(archs.names()) else f" [{', '.join(names)}]"
        return entries[0][2].help + scope
    return " ".join(f"[{', '.join(group)}] {text}" for text, group in by_help.items())


def _defaults(entries: list[tuple[str, str, Spec]]) -> str:
    """The default of a flag, per architecture group when they differ ("64; transformer 128")."""
    values: dict[str, list[str]] = {}
    for arch, field, _ in entries:
        values.setdefault(str(getattr(archs.get(arch).config_cls(), field)), []).append(arch)
    first, *rest = values.items()
    return first[0] + "".join(f"; {', '.join(group)} {value}" for value, group in rest)


def parse_duration(text: str | float | None) -> float | None:
    """``90``, ``90s``, ``10m``, ``1.5h`` or ``1h30m`` -> seconds (None stays None).

    Raises:
        click.BadParameter: anything else, or a duration that is not positive.
    """
    if text is None or isinstance(text, int | float):
        return text
    import re

    raw = text.strip().lower()
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", raw)
    if not raw or parts is None or not any(parts.groups()):
        raise click.BadParameter(f"{text!r} is not a duration (use e.g. 90s, 10m, 1h30m)")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    seconds = h * 3600 + m * 60 + s
    limit = spec.spec_of(TrainConfig, "time_limit")
    if seconds <= 0 or not limit.contains(seconds):
        raise click.BadParameter(f"{text!r}: the time limit must be positive and at most a year")
    return seconds


def model_options(with_arch: bool = True, train: bool = True) -> Callable:
    """Decorate a command with every architecture and training option (all default to None:
    what the user did not give comes from the architecture's and TrainConfig's defaults)."""

    def decorate(func: Callable) -> Callable:
        options: list[Callable] = []
        for flag, entries in _arch_flags().items():
            s = _union([e[2] for e in entries])
            options.append(click.option(flag, type=s.click_type(), default=None, show_default=_defaults(entries),
                                        help=_help(entries)))
        if train:
            for field, s in spec.specs(TrainConfig).items():
                if s.flag:
                    options.append(click.option(s.flag, type=s.click_type(), default=None,
                                                show_default=str(getattr(TrainConfig(), field)), help=s.help))
            options.append(click.option("--time-limit", metavar="DURATION",
                                        help="Stop training after this long (90s, 10m, 1h30m), keeping the best "
                                             "model."))
            options.append(click.option("--stateful/--no-stateful", default=None,
                                        help=spec.spec_of(TrainConfig, "stateful").help + " [rnn, lstm, gru]"))
        options.append(click.option("--one-hot", is_flag=True,
                                    help="One-hot input instead of an embedding (as the seed study) [rnn, lstm, gru]."))
        options.append(click.option("--no-lowercase", is_flag=True,
                                    help="Keep case (default: lower-case, as the seed study)."))
        options.append(click.option("--byte-exact", is_flag=True,
                                    help="Keep the text exactly as it is (case, spaces, line breaks), e.g. to "
                                         "compare per-character figures with other tools."))
        if with_arch:
            options.append(click.option("--arch", type=click.Choice(archs.names()), default=None,
                                        show_default="lstm",
                                        help="; ".join(f"{a.name}: {a.summary}" for a in archs.REGISTRY.values())))
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def pop_model_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Remove the model options from a command's kwargs and return them."""
    names = {spec.param_name(f) for f in _arch_flags()} | set(EXTRA)
    names |= {spec.param_name(s.flag) for s in spec.specs(TrainConfig).values() if s.flag}
    return {n: kwargs.pop(n) for n in list(kwargs) if n in names}


def normalization_from_options(options: Mapping[str, Any]) -> Normalization:
    if options.get("byte_exact"):
        exact = getattr(Normalization, "exact", None)
        if exact is None:
            raise ConfigError("--byte-exact is not available in this version")
        return exact()
    return Normalization(lowercase=not options.get("no_lowercase"))


def arch_values(arch_name: str, options: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    """The architecture fields the user gave for ``arch_name``.

    ``strict``: an option that this architecture does not have is an error
    (`fit`); otherwise it is skipped (`compare` applies shared options to
    every architecture that has them).
    """
    arch = archs.get(arch_name)
    fields = spec.specs(arch.config_cls)
    by_flag = {s.flag: f for f, s in fields.items() if s.flag}
    values: dict[str, Any] = {}
    for flag in _arch_flags():
        value = options.get(spec.param_name(flag))
        if value is None:
            continue
        if flag in by_flag:
            values[by_flag[flag]] = value
        elif strict:
            raise ConfigError(f"{flag} does not apply to --arch {arch_name}")
    if options.get("one_hot"):
        if "embedding" not in fields:
            if strict:
                raise ConfigError(f"--one-hot does not apply to --arch {arch_name}")
        elif options.get("embedding"):
            raise ConfigError("--one-hot and --embedding are mutually exclusive")
        else:
            values["embedding"] = 0
    return values


def train_values(options: Mapping[str, Any]) -> dict[str, Any]:
    values = spec.flag_values(spec.specs(TrainConfig), options)
    if options.get("stateful") is not None:
        values["stateful"] = options["stateful"]
    limit = parse_duration(options.get("time_limit"))
    if limit is not None:
        values["time_limit"] = limit
    return values


def config_from_options(options: Mapping[str, Any], base: ModelConfig | None = None, *,
                        arch: str | None = None, strict: bool = True) -> ModelConfig:
    """A ModelConfig from parsed options: what the user gave overrides ``base`` (or the
    architecture's defaults).

    Raises:
        ConfigError: an option out of range or foreign to the architecture.
    """
    name = arch or options.get("arch") or (base.name if base else "lstm")
    given_arch = arch_values(name, options, strict=strict)
    given_train = train_values(options)
    if base is not None and base.name == name:
        arch_config = base.arch.replace(**given_arch)
        training = base.training.replace(**given_train)
    else:
        arch_config = archs.get(name).config(**given_arch)
        training = TrainConfig.for_arch(arch_config, **given_train)
    if base is not None and not (options.get("no_lowercase") or options.get("byte_exact")):
        norm = base.normalization
    else:
        norm = normalization_from_options(options)
    return ModelConfig(arch_config, training, norm)
