"""docs/architecture.md lists exactly the modules of the package, and its data flow shows every
domain: the page cannot drift from the tree."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "customer_analytics"
PAGE = REPO / "docs" / "architecture.md"
# A line of the tree: its indent, then a folder (`name/`) or a module (`name.py`). A line indented
# as far as the descriptions are, or further, continues the description above it.
ENTRY = re.compile(r"^( *)([\w.]+/|[\w.]+\.py)(?:\s|$)")
DESCRIPTION_COLUMN = 20


def _section(title: str) -> str:
    text = PAGE.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def listed_modules(tree: str) -> set[str]:
    """The paths of the modules a tree names: folders nest by two spaces."""
    folders: list[str] = []
    modules = set()
    for line in tree.splitlines():
        entry = ENTRY.match(line)
        if not entry or len(entry.group(1)) >= DESCRIPTION_COLUMN:
            continue
        depth, name = len(entry.group(1)) // 2, entry.group(2)
        del folders[depth:]
        if name.endswith("/"):
            folders.append(name.removesuffix("/"))
        else:
            modules.add("/".join([*folders, name]))
    return modules


def _names_only_its_package(path: Path) -> bool:
    """An `__init__.py` of nothing but a docstring."""
    body = ast.parse(path.read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def test_the_parser_reads_a_tree():
    tree = """
```
top/
  a.py                  one
                        continued: b.py is not an entry
  inner/                a folder
    c.py                in it
  d.py
```"""
    assert listed_modules(tree) == {"top/a.py", "top/inner/c.py", "top/d.py"}


def test_the_page_lists_exactly_the_modules_of_the_package():
    (tree,) = re.findall(r"```\n(customer_analytics/\n.*?)```", _section("Layout"), re.S)
    on_the_page = listed_modules(tree)
    in_the_tree = {
        str(path.relative_to(REPO))
        for path in PACKAGE.rglob("*.py")
        if not (path.name == "__init__.py" and _names_only_its_package(path))
    }
    assert sorted(in_the_tree - on_the_page) == [], "modules the page does not list"
    assert sorted(on_the_page - in_the_tree) == [], "modules the page lists that do not exist"


def test_the_data_flow_shows_every_domain_and_its_assets():
    flow = _section("Data flow")
    domains = sorted(
        folder.name for folder in (PACKAGE / "defs").iterdir() if (folder / "assets.py").exists()
    )
    assert domains == ["analytics", "content", "search", "web"]
    for domain in domains:
        assert f"\n {domain}\n" in flow, f"no {domain} in the data flow"
    for asset in (
        "raw_log_content",
        "daily_pivot",
        "customer_content_stats",
        "raw_log_search",
        "monthly_top_keyword",
        "keyword_category",
        "customer_search_stats",
        "analytics_tables",
        "web_event_batches",
        "raw_web_events",
        "web_sessions",
        "crm_customers",
        "customer_loyalty",
    ):
        assert asset in flow, f"{asset} is not in the data flow"
