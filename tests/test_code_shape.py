"""The code stays in the shape docs/architecture.md describes: small modules, short parameter
lists, no import cycles, Qt only in the window and the entry points, every package on the map.
(The next capabilities land in the turn; they must find it readable.)"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MAX_LINES = 450
MAX_PARAMS = 6


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The app modules `name` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        found.update(t for t in targets if t in known and t != name)
    return found


def test_no_module_is_long() -> None:
    long = {n: p.read_text().count("\n") for n, p in _modules().items()}
    assert {n: lines for n, lines in long.items() if lines > MAX_LINES} == {}


def test_no_function_takes_a_long_argument_list() -> None:
    long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
                if params[:1] in (["self"], ["cls"]):
                    params = params[1:]
                count = len(params) + bool(a.vararg) + bool(a.kwarg)
                if count > MAX_PARAMS:
                    long.append(f"{name}.{node.name} ({count})")
    assert long == []


def test_no_import_cycle_between_modules_or_packages() -> None:
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}

    def cycle_from(start: str, edges: dict[str, set[str]]) -> list[str]:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    return [*trail, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return []

    cycles = [c for n in graph if (c := cycle_from(n, graph))]
    assert cycles == []
    packages: dict[str, set[str]] = defaultdict(set)
    for name, targets in graph.items():
        for target in targets:
            a, b = name.split(".")[1:2], target.split(".")[1:2]
            if a and b and a != b:
                packages[a[0]].add(b[0])
    assert [c for p in list(packages) if (c := cycle_from(p, packages))] == []


def test_qt_only_in_the_window_and_the_entry_points() -> None:
    outside = []
    for name, path in _modules().items():
        if name.startswith(("app.ui", "app.cli")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            mods = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            outside += [f"{name}: {m}" for m in mods if m.startswith(("PySide6", "qasync"))]
    assert outside == []


def test_no_entry_point_loose_at_the_top_and_every_package_on_the_map() -> None:
    top = {p.stem for p in APP.glob("*.py")}
    assert not {t for t in top if t.startswith("cli") or t in ("headless", "self_test", "launch")}
    doc = (APP.parent / "docs" / "architecture.md").read_text()
    packages = [p.name for p in APP.iterdir() if (p / "__init__.py").exists()]
    modules = [p.name for p in APP.glob("*.py") if p.stem not in ("__init__",)]
    missing = [n for n in packages if f"app/{n}/" not in doc]
    missing += [m for m in modules if f"app/{m}" not in doc]
    assert missing == []
