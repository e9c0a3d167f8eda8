"""Imports go downward only (docs/architecture.md, Layers): each package imports only the
packages below it, and the domains under defs/ never import each other."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "customer_analytics"

# What each layer may import from the project, besides itself.
ALLOWED = {
    "rules": set(),
    "engines": {"rules", "settings"},
    "lib": {"engines", "rules", "settings"},
    "io_managers": {"lib", "engines", "rules", "settings"},
    "enrichment": {"io_managers", "lib", "engines", "rules", "settings"},
}
# Command-line entry points, above every layer (`python -m ...`).
ENTRY_POINTS = {"enrichment/evaluate.py"}


def _project_imports(path: Path) -> set[str]:
    """The project modules a file imports, as dotted names below customer_analytics."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        found |= {
            name.removeprefix("customer_analytics.")
            for name in names
            if name.startswith("customer_analytics.")
        }
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {imported}"
        for path in (PACKAGE / layer).rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in ENTRY_POINTS
        for imported in _project_imports(path)
        if imported.split(".")[0] not in ALLOWED[layer] | {layer}
    }
    assert not wrong


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def test_the_engines_know_nothing_of_dagster():
    users = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "engines").rglob("*.py")
        if "dagster" in _top_level_imports(path)
    ]
    assert not users


def test_domains_never_import_each_other():
    domains = [
        folder.name for folder in (PACKAGE / "defs").iterdir() if (folder / "assets.py").exists()
    ]
    assert len(domains) >= 2
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {imported}"
        for domain in domains
        for path in (PACKAGE / "defs" / domain).rglob("*.py")
        for imported in _project_imports(path)
        if imported.startswith("defs.") and imported.split(".")[1] != domain
    }
    assert not wrong
