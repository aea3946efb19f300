"""docs/config.md documents every config key: each struct has a section that names each of
its fields."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec

from mockllm.config import Config

DOC = (Path(__file__).parents[2] / "docs" / "config.md").read_text("utf-8")
_MARK = re.compile(r"<!-- struct: (\w+) -->")


def sections() -> dict[str, str]:
    parts = _MARK.split(DOC)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def structs(root: type[msgspec.Struct]) -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}

    def walk(tp: object) -> None:
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            if tp.__name__ in found:
                return
            found[tp.__name__] = tp
            for hint in typing.get_type_hints(tp).values():
                walk(hint)
        for arg in typing.get_args(tp):
            walk(arg)

    walk(root)
    return found


def test_every_struct_has_a_section_naming_every_field() -> None:
    docs = sections()
    missing = []
    for name, struct in structs(Config).items():
        text = docs.get(name)
        if text is None:
            missing.append(f"no section <!-- struct: {name} -->")
            continue
        missing += [f"{name}.{f}" for f in struct.__struct_fields__ if f"`{f}`" not in text]
    assert missing == []


def test_every_template_name_is_documented() -> None:
    from mockllm.engine.template import BUILTIN_NAMES

    table = DOC.split("## Templates", 1)[1].split("\n## ", 1)[0]
    assert [n for n in sorted(BUILTIN_NAMES) if f"| `{n}` |" not in table] == []


def test_every_control_header_is_documented() -> None:
    from mockllm.engine import control

    for header in (control.STATUS, control.FAULT, control.RULE, control.LATENCY):
        assert f"| `{header}` |" in DOC
