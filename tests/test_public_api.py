"""The plugin API is deliberate: a snapshot of every public name and signature.

When the public surface changes on purpose, regenerate the snapshot and review the diff:

    python -m tests.test_public_api > tests/data/public_api.txt
"""

from __future__ import annotations

import inspect
from pathlib import Path

import mockllm

SNAPSHOT = Path(__file__).parent / "data" / "public_api.txt"


def _members(cls: type) -> list[str]:
    out = []
    for name, value in sorted(vars(cls).items()):
        if name.startswith("_") and name != "__init__" and name != "__call__":
            continue
        if isinstance(value, property):
            out.append(f"    {name}: property")
        elif isinstance(value, (staticmethod, classmethod)):
            out.append(f"    {name}{inspect.signature(value.__func__)}")
        elif inspect.isfunction(value):
            out.append(f"    {name}{inspect.signature(value)}")
    fields = getattr(cls, "__struct_fields__", None) or getattr(cls, "_fields", None)
    if fields:
        out.append(f"    fields: {', '.join(fields)}")
    return out


def describe() -> str:
    lines = []
    for name in mockllm.__all__:
        value = getattr(mockllm, name)
        if inspect.isclass(value):
            bases = ", ".join(b.__name__ for b in value.__bases__)
            lines.append(f"class {name}({bases})")
            lines.extend(_members(value))
        elif callable(value) and not isinstance(value, str):
            lines.append(f"{name}: {type(value).__name__}")
        else:
            lines.append(f"{name}: {type(value).__name__}")
    return "\n".join(lines) + "\n"


def test_public_names_and_signatures_match_the_snapshot() -> None:
    assert describe() == SNAPSHOT.read_text(), (
        "the public API changed: if on purpose, run "
        "`python -m tests.test_public_api > tests/data/public_api.txt` and review the diff")


def test_all_is_sorted_and_has_what_a_plugin_needs() -> None:
    assert mockllm.__all__ == sorted(mockllm.__all__)
    needed = {"hookimpl", "Endpoint", "Transport", "Frame", "ApiError", "ConfigError",
              "RequestView", "NeutralRequest", "Reply", "Plan", "ServerContext", "Registry",
              "PluginError", "Pacing", "Fault"}
    assert needed <= set(mockllm.__all__)


if __name__ == "__main__":
    print(describe(), end="")
