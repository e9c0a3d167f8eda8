"""The layout (docs/architecture.md, Layout and Layers): a shared core, one folder per domain
under defs/, and the modules that put them together. Imports go downward only, domains never
import each other, and what one domain alone uses lives in its folder."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "customer_analytics"
TESTS = Path(__file__).resolve().parent

# The core's packages and what each may import from the project, besides itself.
CORE = {
    "rules": set(),
    "settings": set(),
    "engines": {"rules", "settings"},
    "lib": {"engines", "rules", "settings"},
    "io_managers": {"lib", "engines", "rules", "settings"},
}
# What puts the domains together: the code location, the demo and the sample-data command.
COMPOSITION = {"definitions", "demo", "sample_data"}
# A domain's engine-neutral modules, which know nothing of Dagster, as the core's rules and
# engines: its rules, its schemas, its transforms and how each engine decodes its raw files.
NEUTRAL_IN_A_DOMAIN = {"rules", "schemas", "transforms", "decode"}


def _module(path: Path) -> str:
    """`defs.web.rules` for customer_analytics/defs/web/rules.py."""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")


MODULES = {_module(path): path for path in PACKAGE.rglob("*.py") if path != PACKAGE / "__init__.py"}
DOMAINS = sorted(
    folder.name for folder in (PACKAGE / "defs").iterdir() if (folder / "__init__.py").exists()
)


def _imports(path: Path) -> set[str]:
    """The project modules a file imports (a name imported from a package counts as that
    module when it is one), and `dagster` if it imports Dagster or one of its libraries."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in {"dagster", "dagster_aws", "dagster_pyspark"}:
                found.add("dagster")
            elif name.removeprefix("customer_analytics.") in MODULES:
                found.add(name.removeprefix("customer_analytics."))
    return found


IMPORTS = {module: _imports(path) for module, path in MODULES.items()}


def role(module: str) -> str:
    """`core:<package>`, `domain:<name>`, `defs` (the few definitions of the whole graph: the
    alert and automation sensors) or `composition`."""
    parts = module.split(".")
    if parts[0] in CORE:
        return f"core:{parts[0]}"
    if parts[0] in COMPOSITION:
        return "composition"
    if parts[0] == "defs" and len(parts) > 1 and parts[1] in DOMAINS:
        return f"domain:{parts[1]}"
    if parts[0] == "defs":
        return "defs"
    raise AssertionError(f"{module} is in no part of the layout")


def test_every_module_has_a_place():
    roles = {role(module) for module in MODULES}
    assert {f"domain:{domain}" for domain in DOMAINS} <= roles
    assert {"content", "search", "analytics", "web"} <= set(DOMAINS)


@pytest.mark.parametrize("package", sorted(CORE))
def test_the_core_imports_only_the_core_below_it(package):
    wrong = {
        f"{module} imports {imported}"
        for module in MODULES
        if role(module) == f"core:{package}"
        for imported in IMPORTS[module] - {"dagster"}
        if imported.split(".")[0] not in CORE[package] | {package}
    }
    assert not wrong


def test_the_graph_wide_definitions_import_only_the_core():
    wrong = {
        f"{module} imports {imported}"
        for module in MODULES
        if role(module) == "defs"
        for imported in IMPORTS[module] - {"dagster"}
        if not role(imported).startswith("core:")
    }
    assert not wrong


def test_domains_never_import_each_other_nor_what_composes_them():
    wrong = {
        f"{module} imports {imported}"
        for module in MODULES
        if role(module).startswith("domain:")
        for imported in IMPORTS[module] - {"dagster"}
        if not role(imported).startswith("core:") and role(imported) != role(module)
    }
    assert not wrong


def test_a_domains_rules_import_only_the_cores_rule_helpers():
    wrong = {
        f"{module} imports {imported}"
        for module in MODULES
        if role(module).startswith("domain:") and module.endswith(".rules")
        for imported in IMPORTS[module]
        if role(imported) != "core:rules"
    }
    assert not wrong


def _reachable(module: str) -> set[str]:
    seen, stack = set(), [module]
    while stack:
        for imported in IMPORTS.get(stack.pop(), set()) - seen:
            seen.add(imported)
            stack.append(imported)
    return seen


def test_transform_sql_knows_nothing_of_dagster():
    """Not even through what it imports: the core's rules and engines, and each domain's rules,
    schemas and transforms, run wherever SQL does."""
    neutral = [
        module
        for module in MODULES
        if role(module) in {"core:rules", "core:engines"}
        or (role(module).startswith("domain:") and module.split(".")[-1] in NEUTRAL_IN_A_DOMAIN)
    ]
    assert len(neutral) > 20
    assert not [module for module in neutral if "dagster" in _reachable(module)]


def test_no_core_module_is_used_by_one_domain_only():
    """A core module that only one domain imports belongs in that domain's folder."""
    users = defaultdict(set)
    for module, imported in IMPORTS.items():
        for name in imported - {"dagster"}:
            users[name].add(role(module))
    wrong = {
        f"{module} is used by {next(iter(users[module]))} alone"
        for module in MODULES
        if role(module).startswith("core:") and MODULES[module].name != "__init__.py"
        if len(users[module]) == 1 and next(iter(users[module])).startswith("domain:")
    }
    assert not wrong


def test_every_core_module_is_used():
    used = set().union(*IMPORTS.values())
    unused = {
        module
        for module in MODULES
        if role(module).startswith("core:") and MODULES[module].name != "__init__.py"
        if module not in used
    }
    assert not unused


# Tests whose place is not a domain's: of a core package (which may take a domain's code as its
# sample), of the browser pages, of the benchmark.
NOT_OF_A_DOMAIN = {*CORE, "ui", "bench"}


def test_a_test_of_one_domain_lives_in_that_domains_test_folder():
    """The tests mirror the package: a test module that imports from one domain alone, and
    nothing that composes the domains, is under customer_analytics_tests/defs/<domain>/."""
    wrong = set()
    for path in TESTS.rglob("test_*.py"):
        imported = _imports(path) - {"dagster"}
        if path.relative_to(TESTS).parts[0] in NOT_OF_A_DOMAIN or any(
            role(module) == "composition" for module in imported
        ):
            continue
        domains = {
            role(module).removeprefix("domain:")
            for module in imported
            if role(module).startswith("domain:")
        }
        if len(domains) == 1 and path.relative_to(TESTS).parts[:2] != ("defs", *domains):
            wrong.add(f"{path.relative_to(TESTS)} tests {domains.pop()} alone")
    assert not wrong
