"""The import graph of the package: the contracts of pyproject.toml hold, and no module takes
part in an import cycle, counting imports inside functions (docs/contributing.md)."""

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_lint_imports_keeps_every_contract():
    finished = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert "0 broken" in finished.stdout


def test_the_no_channel_contract_covers_every_module_of_the_core():
    """A module added to the core is held to the contract too: the contract lists them all."""
    import spire_notify

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [no_channel] = [contract for contract in contracts if contract["name"].startswith("The core names no")]
    core = {
        f"spire_notify.{module.name}"
        for module in pkgutil.iter_modules(spire_notify.__path__)
        if module.name not in {"channels", "helpdesk", "migrations", "locale"}
    }
    assert sorted(core - set(no_channel["source_modules"])) == []
    assert no_channel["forbidden_modules"] == ["spire_notify.channels", "spire_notify.helpdesk"]


def import_cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_is_part_of_an_import_cycle():
    # grimp reads every import statement, those inside functions included.
    graph = grimp.build_graph("spire_notify", cache_dir=None)
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == [["pkg.a", "pkg.b"]]
