"""The layering contract, checked over the import graph of the source (every import counts,
including those under ``TYPE_CHECKING`` and inside functions: a cycle of type imports is
still two modules that cannot be understood apart).

- the engine (``mockllm.engine``) and the neutral modules it uses reach no HTTP code;
- ``mockllm/`` never imports ``plugins_builtin`` (the framework knows no provider);
- there are no import cycles among ``mockllm`` and ``plugins_builtin`` modules;
- no module is over 400 lines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.module_table import cycles, imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mockllm", "plugins_builtin")
HTTP = ("starlette", "uvicorn", "httpx")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (absolute names; a package for ``from pkg import x``
    unless ``x`` is itself a module): benchmarks/module_table's reader, with the modules
    outside the project kept (the engine must reach no starlette)."""
    return imports(name, str(path), path.read_text(), MODULES, external=True)


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _internal(targets: set[str]) -> set[str]:
    found = set()
    for t in targets:
        # ``import mockllm.engine.plan`` also runs every package above it
        parts = t.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) in MODULES:
                found.add(".".join(parts[:i]))
    return found


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module: benchmarks/module_table's
    Tarjan, the one the before/after table of the modules uses too."""
    return cycles({v: _internal(GRAPH[v]) - {v} for v in GRAPH})


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_framework_never_imports_the_builtin_plugins() -> None:
    offenders = {name: sorted(t for t in targets if t.split(".")[0] == "plugins_builtin")
                 for name, targets in GRAPH.items() if name.split(".")[0] == "mockllm"}
    assert {k: v for k, v in offenders.items() if v} == {}


def _reach(start: str) -> set[str]:
    """What importing ``start`` can import."""
    seen, todo = set(), [start]
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        todo.extend(_internal(GRAPH.get(v, set())) - seen)
    return seen


def test_the_engine_reaches_no_http_code() -> None:
    engine = [m for m in MODULES if m == "mockllm.engine" or m.startswith("mockllm.engine.")]
    bad = {}
    for module in engine:
        for reached in _reach(module):
            http = sorted(t for t in GRAPH[reached] if t.split(".")[0] in HTTP)
            if http:
                bad[f"{module} -> {reached}"] = http
    assert bad == {}


def test_importing_the_engine_loads_no_http_code() -> None:
    code = ("import sys, mockllm.engine.engine, mockllm.engine.plan; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HTTP)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES


def test_no_file_cites_a_document_the_repository_lacks() -> None:
    # Sessions wrote against a design document kept outside the repository (cited by its
    # upper-case file name); a reader of the repository cannot follow such a citation.
    import re
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True,
                             cwd=ROOT).stdout.split()
    have = {Path(p).name for p in tracked}
    cited: dict[str, set[str]] = {}
    for p in tracked:
        if Path(p).suffix in (".py", ".md", ".toml", ".ini", ".yaml", ".yml", ".cfg", ".txt"):
            text = (ROOT / p).read_text(errors="replace")
            for name in re.findall(r"\b[A-Z][A-Z_]+\.md\b", text):
                if name not in have:
                    cited.setdefault(name, set()).add(p)
    assert cited == {}


def _architecture_modules() -> list[str]:
    """The paths the Modules table of docs/architecture.md names (a bare file name in a cell
    is in the directory of the cell's first path)."""
    import re
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        names = re.findall(r"`([^`]+)`", row.split("|")[1])
        folder = names[0].rsplit("/", 1)[0] if "/" in names[0].rstrip("/") else ""
        out.extend(n if "/" in n else f"{folder}/{n}" for n in names)
    return out


def test_architecture_lists_every_module_once_and_no_other() -> None:
    listed = _architecture_modules()
    assert sorted(n for n in set(listed) if listed.count(n) > 1) == []
    assert sorted(n for n in listed if not (ROOT / n).exists()) == []
    folders = tuple(n for n in listed if n.endswith("/"))
    files = [str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob(
        "*.py") if p.name not in ("__init__.py", "__main__.py")]
    unlisted = [f for f in files if f not in listed and not f.startswith(folders)]
    assert sorted(unlisted) == [], ("give each new module a row in docs/architecture.md's "
                                    "Modules table (its one concept)")
