"""``pip install -e '.[dev]'`` is enough to run the tests: every package they import is declared
by the project's dependencies or its ``dev`` extra, or comes with one of those. A module that
arrives only through another extra (babel, with the docs' mkdocs-material) would fail on a
machine that installed the ``dev`` extra alone."""

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"spire_notify", "tests", "bench", "demo", "backends", "helpdesk", "example_channel"}


def imported_top_level_modules(folder):
    names = set()
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in FIRST_PARTY}


def installed_with(requirements):
    """The distributions these requirements install, theirs included (markers evaluated here)."""
    seen, pending = set(), [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        extras = requirement.extras or {""}
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in extras):
            continue
        if (name, frozenset(extras)) in seen:
            continue
        seen.add((name, frozenset(extras)))
        for text in importlib.metadata.requires(name) or []:
            nested = Requirement(text)
            if nested.marker is None or any(nested.marker.evaluate({"extra": e}) for e in extras):
                nested.marker = None
                pending.append(nested)
    return {name for name, _ in seen}


def test_every_package_the_tests_import_comes_with_the_dev_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = installed_with(project["dependencies"] + project["optional-dependencies"]["dev"])
    distributions = importlib.metadata.packages_distributions()
    undeclared = sorted(
        module
        for module in imported_top_level_modules(ROOT / "tests")
        if not {canonicalize_name(name) for name in distributions[module]} & declared
    )
    assert undeclared == []
