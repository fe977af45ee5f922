"""The package's layers only import downwards: tui | trainer -> engine -> store -> config -> archs ->
data | spec -> errors. Lazy imports inside functions count too: a layer that imports a higher one
late is still tied to it."""

from __future__ import annotations

import ast
from pathlib import Path

import charlm

PACKAGE = Path(charlm.__file__).parent
#: Layer of each top-level part of the package; a module may import its own layer or lower ones.
LAYERS = {
    "__init__": 0,  # only the version
    "errors": 0,
    "spec": 1, "data": 1, "tf_quiet": 1,
    "archs": 2,
    "config": 3,
    "store": 4,
    "engine": 5,
    "cli_common": 6, "trainer": 6, "tui": 6,
    "__main__": 7,
    "entry": 0,  # starts a command by its module name at run time; imports nothing of charlm itself
}
#: Same-layer parts that must stay independent of each other.
APART = {("trainer", "tui"), ("tui", "trainer")}


def part_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


def charlm_imports(path: Path) -> list[tuple[int, str]]:
    module = "charlm." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("charlm")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.rsplit(".", node.level)[0]
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name == "charlm":
                found += [(node.lineno, f"charlm.{a.name}") for a in node.names]
            elif name.startswith("charlm."):
                found.append((node.lineno, name))
    return found


def test_every_import_goes_down_the_layers():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        here = rel.parts[0].removesuffix(".py")
        assert here in LAYERS, f"{rel}: give the new part {here!r} a layer in this test"
        for line, target in charlm_imports(path):
            there = part_of(target)
            if there not in LAYERS:
                problems.append(f"{rel}:{line} imports unknown part {target}")
            elif LAYERS[there] > LAYERS[here] or (here, there) in APART:
                problems.append(f"{rel}:{line} ({here}) imports {target} ({there})")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    sample = PACKAGE / "engine" / "engine.py"
    assert any(t.startswith("charlm.store") for _, t in charlm_imports(sample))
