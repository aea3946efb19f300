"""What a config's text values must satisfy: JSON paths, templates and tool-call arguments
(the checks :mod:`mockllm.engine.schema` runs at load; a problem is ``(path, message)``)."""

from __future__ import annotations

import re
from typing import Any

from mockllm.engine.template import Template, TemplateError

_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """``a.b[0].c`` (an optional leading ``$.``) to keys and indexes."""
    text = path.removeprefix("$").removeprefix(".") if path.startswith("$") else path
    out: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _PATH_PART.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"bad JSON path {path!r} at column {pos + 1} "
                             "(write keys with dots and indexes in brackets: a.b[0].c)")
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not out:
        raise ValueError("an empty JSON path")
    return tuple(out)


def template_problem(path: str, text: str, names: frozenset[str] | None) -> list[tuple[str, str]]:
    try:
        problem = Template(text).check(names)
    except TemplateError as exc:
        return [(path, str(exc))]
    return [] if problem is None else [(path, problem)]


def argument_problems(path: str, value: Any,
                       names: frozenset[str] | None) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return template_problem(path, value, names)
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(argument_problems(f"{path}.{k}", v, names))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(argument_problems(f"{path}[{i}]", v, names))
    return found
