"""Import rules of the engine/store split, checked on the source (every import, lazy ones too):
``store/`` imports nothing from ``cluster``, ``dedup``, ``summarize``, ``pipeline`` or the engine,
and there is no import circle among the store modules, the engine and the editorial code."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "storyline"
FORBIDDEN_IN_STORE = ("storyline.cluster", "storyline.dedup", "storyline.summarize", "storyline.pipeline",
                      "storyline.engine")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), including inside functions and TYPE_CHECKING."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith("storyline")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def test_store_imports_no_engine_code():
    for path in (PACKAGE / "store").rglob("*.py"):
        bad = sorted(m for m in imports_of(path) if m.startswith(FORBIDDEN_IN_STORE))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_import_circle_among_store_engine_and_editorial():
    edges = graph()
    scope = {m for m in edges if m.startswith("storyline.store") or m in ("storyline.engine",)}
    for start in sorted(scope):
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    raise AssertionError(f"import circle through {start} and {node}")
                if nxt in scope and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)


def test_the_checker_sees_relative_and_lazy_imports():
    deps = imports_of(PACKAGE / "engine.py")
    assert "storyline.store.editorial" in deps and "storyline.cluster.features" in deps
    assert "storyline.store.base" in imports_of(PACKAGE / "store" / "editorial.py")
