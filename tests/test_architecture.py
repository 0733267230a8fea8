"""The package's shape: no import circles (counting imports inside functions and type-only ones
too), no module that imports the package root, and a command line whose help does not import DSPy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pld

ROOT = Path(pld.__file__).resolve().parent
# signatures/ and programs/ ship as pld.signatures / pld.programs (setuptools package-dir).
SOURCES = {"pld": ROOT, "pld.signatures": ROOT.parent / "signatures", "pld.programs": ROOT.parent / "programs"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``module`` imports anywhere in its file, under TYPE_CHECKING too
    (a type-only circle is still a circle a reader must untangle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    resolved = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != module:
            resolved.add(target)
    return resolved


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_circles():
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) - {"pld"} for name, path in modules.items()}
    assert _cycles(graph) == []


def test_no_module_inside_the_package_imports_the_package_root():
    """``pld/__init__`` is the public face: importing it from inside drags the whole API in."""
    modules = _modules()
    climbing = sorted(name for name, path in modules.items() if name != "pld" and "pld" in _imports(name, path, set(modules)))
    assert climbing == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_help_does_not_import_dspy():
    code = "import sys; from pld.cli import build_parser; build_parser(); print('dspy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def _imports_dspy(argv: list[str]) -> bool:
    """Whether ``pld ARGV`` imports DSPy (it costs seconds of startup); the command must succeed."""
    code = ("import contextlib, io, sys\nfrom pld.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    try:\n        status = main({argv!r})\n    except SystemExit as exc:\n        status = exc.code\n"
            "print(status, 'dspy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT.parent)
    assert done.returncode == 0, done.stderr
    status, imported = done.stdout.split()
    assert status in ("0", "None"), done.stderr
    return imported == "True"


def test_compile_help_does_not_import_dspy():
    assert not _imports_dspy(["compile", "--help"])


def test_show_does_not_import_dspy():
    artifact = ROOT.parent / "artifacts" / "stereoset-gemma3-270m"  # the committed artifact, read only
    assert not _imports_dspy(["show", str(artifact)])
    assert not _imports_dspy(["show", str(artifact), "--all", "--format", "markdown"])
