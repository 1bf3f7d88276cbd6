"""Which way imports may go (docs/architecture.md), read from the source, lazy imports inside functions
included: `annotations` never imports `inference`; inside `inference`, `jobs` knows no other sub-package,
`risk` stands alone, the two model families of `inference.core` do not import each other, nobody reaches
into another package's private names, and no import circle crosses a package boundary."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (  # most specific first: a module belongs to the first package its name starts with
    "inference.core.extraction",
    "inference.core.risk",
    "inference.core.adaptation",
    "inference.core",
    "inference.jobs",
    "inference.serving",
    "inference.learning",
    "inference.adaptation",
    "inference.risk",
    "inference.agreement",
    "inference",
    "annotations.formats",
    "annotations",
    "accounts",
    "pharmacovigilance.core",
    "pharmacovigilance.terminology",
    "pharmacovigilance",
    "ade_review",
)


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("annotations", "inference", "accounts", "ade_review"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import statement, at any depth, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [alias.name for alias in node.names]
            out.append((base, names))
            out += [(f"{base}.{name}", []) for name in names if f"{base}.{name}" in MODULES]
    return out


def _package(module: str) -> str | None:
    return next((p for p in PACKAGES if module == p or module.startswith(p + ".")), None)


EDGES = [(m, imported, names) for m, path in MODULES.items() for imported, names in _imports(m, path)]


def _offenders(source_prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} imports {imported}"
        for m, imported, _ in EDGES
        if (m == source_prefix or m.startswith(source_prefix + "."))
        and any(imported == f or imported.startswith(f + ".") for f in forbidden)
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("annotations", ("inference",)),
        ("accounts", ("inference",)),
        ("pharmacovigilance.core", ("pharmacovigilance.terminology", "annotations", "inference", "accounts")),
        ("inference.jobs", ("inference.serving", "inference.learning", "inference.risk", "inference.adaptation")),
        ("inference.adaptation", ("inference.serving", "inference.learning", "inference.risk",
                                  "inference.core.extraction", "inference.core.risk")),
        ("inference.risk", ("inference.jobs", "inference.serving", "inference.learning", "inference.core.extraction")),
        ("inference.core.extraction", ("inference.core.risk",)),
        ("inference.core.risk", ("inference.core.extraction",)),
        ("inference.core.adaptation", ("inference.core.extraction", "inference.core.risk")),
        ("inference.core", ("inference.jobs", "inference.serving", "inference.learning", "inference.risk",
                            "inference.models", "inference.adaptation")),
    ],
)
def test_imports_go_only_the_allowed_way(package, forbidden):
    assert _offenders(package, forbidden) == []


def test_nobody_imports_another_packages_private_names():
    offenders = sorted(
        f"{m} imports {name} from {imported}"
        for m, imported, names in EDGES
        for name in names
        if name.startswith("_") and not name.startswith("__")
        and _package(m) != _package(imported) and _package(imported) is not None
    )
    assert offenders == []


def test_no_import_circle_crosses_a_package_boundary():
    # "inference" (the app's own modules: apps, models, tasks, urls) and "ade_review" (settings, root URLs,
    # middleware) compose the packages below them: they are the glue, left out of the graph.
    glue = {"inference", "ade_review", None}
    graph = defaultdict(set)
    for m, imported, _ in EDGES:
        a, b = _package(m), _package(imported)
        if a != b and a not in glue and b not in glue:
            graph[a].add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo += graph.get(node, ())
        return False

    circles = sorted(f"{a} <-> {b}" for a in list(graph) for b in graph[a] if reaches(b, a))
    assert circles == []
