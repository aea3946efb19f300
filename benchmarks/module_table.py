"""Line counts, fan-in and import cycles of the modules of ``mockllm/`` and
``plugins_builtin/`` at two git revisions, as a Markdown table (issue 15 asks for it before
and after the refactor).

Fan-in is the number of modules in ``mockllm/`` and ``plugins_builtin/`` that import a module
(any import: top level, inside functions, under ``TYPE_CHECKING``; ``from pkg import name``
counts for ``pkg.name`` when that is a module, else for ``pkg``), the way
``tests/test_layering.py`` builds its graph. Files are read from git, so the work tree is
untouched::

    python -m benchmarks.module_table 18af06f main            # the main modules
    python -m benchmarks.module_table 18af06f main --all      # every module
    python -m benchmarks.module_table 18af06f main --min-lines 300

Not in the request path: a contributor's tool.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mockllm", "plugins_builtin")
#: The modules the request path runs through, and the ones issue 15 names (before or after).
MAIN = (
    "mockllm.app", "mockllm.endpoint", "mockllm.boundary", "mockllm.provider",
    "mockllm.streaming", "mockllm.stream_response", "mockllm.pump", "mockllm.transport",
    "mockllm.pacing", "mockllm.schedulers", "mockllm.faults", "mockllm.frames",
    "mockllm.histogram", "mockllm.config", "mockllm.config_schema", "mockllm.config_error",
    "mockllm.context", "mockllm.plugins", "mockllm.hookspecs", "mockllm.errors",
    "mockllm.engine.engine", "mockllm.engine.plan", "mockllm.engine.timing",
    "plugins_builtin.openai.responses", "plugins_builtin.openai.responses_input",
    "plugins_builtin.openai.responses_render", "plugins_builtin.openai.chat",
)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                          cwd=ROOT).stdout


def sources(rev: str) -> dict[str, tuple[str, str]]:
    """``{module: (path, text)}`` of every .py file of the packages at ``rev``."""
    out = {}
    for path in _git("ls-tree", "-r", "--name-only", rev, *PACKAGES).split():
        if not path.endswith(".py"):
            continue
        parts = Path(path).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = (path, _git("show", f"{rev}:{path}"))
    return out


def imports(name: str, path: str, text: str, modules: Iterable[str],
            external: bool = False) -> set[str]:
    """The modules (of ``modules``, plus any others when ``external``) that ``name``
    imports. tests/test_layering.py reads the live tree's graph with it."""
    known = set(modules)
    is_package = path.endswith("__init__.py")
    tree = ast.parse(text)
    if is_package:
        # A package facade's ``if TYPE_CHECKING:`` names its lazy public names for type
        # checkers only: no edge.
        tree.body = [n for n in tree.body if not (
            isinstance(n, ast.If) and isinstance(n.test, ast.Name)
            and n.test.id == "TYPE_CHECKING")]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in known else module)
    out.discard(name)
    return out if external else out & known


def graph(src: dict[str, tuple[str, str]]) -> dict[str, set[str]]:
    """Who imports whom among ``src``'s modules."""
    return {name: imports(name, path, text, src) for name, (path, text) in src.items()}


def table(rev: str) -> tuple[dict[str, tuple[int, int]], list[list[str]]]:
    """``{module: (lines, fan_in)}`` at ``rev``, and its import cycles."""
    src = sources(rev)
    edges = graph(src)
    fan_in = dict.fromkeys(src, 0)
    for targets in edges.values():
        for target in targets:
            fan_in[target] += 1
    sizes = {name: (len(text.splitlines()), fan_in[name]) for name, (_, text) in src.items()}
    return sizes, cycles(edges)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan); a module's own
    packages are initialised before it runs, so that edge does not count. tests/test_layering.py's
    no-cycles check calls this too."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if v.startswith(w + "."):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--all", action="store_true", help="every module, not the main ones")
    parser.add_argument("--min-lines", type=int, default=None,
                        help="also every module with at least this many lines at either rev")
    args = parser.parse_args()
    (before, before_cycles), (after, after_cycles) = table(args.before), table(args.after)
    names = set(before) | set(after) if args.all else {
        m for m in MAIN if m in before or m in after}
    if args.min_lines is not None:
        names |= {m for t in (before, after) for m, (n, _) in t.items() if n >= args.min_lines}

    def cell(t: dict[str, tuple[int, int]], m: str) -> str:
        return " | ".join(str(v) for v in t[m]) if m in t else "— | —"

    print(f"| module | lines {args.before} | fan-in {args.before} | lines {args.after} | "
          f"fan-in {args.after} |")
    print("|---|---:|---:|---:|---:|")
    for m in sorted(names):
        print(f"| `{m}` | {cell(before, m)} | {cell(after, m)} |")
    for label, t, found in ((args.before, before, before_cycles),
                            (args.after, after, after_cycles)):
        over = sorted(m for m, (n, _) in t.items() if n > 400)
        print(f"\n{label}: {len(t)} modules, {sum(n for n, _ in t.values())} lines, "
              f"over 400 lines: {', '.join(over) or 'none'}; import cycles: "
              f"{'; '.join(' <-> '.join(c) for c in found) or 'none'}")


if __name__ == "__main__":
    main()
