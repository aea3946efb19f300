"""Hosted tools (``file_search``, ``mcp``, ``web_search``...), ``tool_choice`` objects and
``prompt`` checked against the spec's own schemas, refused with the API's wording.

The schemas are ``tool_schemas.json``, extracted from the project's copy of OpenAI's spec by
``tools/extract_tool_schemas.py`` (it records the spec's sha256). This module is the small
subset of JSON Schema those schemas use: ``type`` (integer, number and boolean kept apart,
as JSON keeps them), ``properties``, ``required``, ``enum``/``const``, ``items``,
``anyOf``/``oneOf`` (an object's ``type`` picks the branch), ``allOf``,
``additionalProperties``, string and array lengths, ``minimum``/``maximum``, ``pattern`` and
the ``uri`` format.
``$ref`` is resolved and patterns compiled once, at import; a request without tools never
reaches here.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

from mockllm.errors import ApiError

from .errors import invalid, listing, missing, wrong_type

Schema = dict[str, Any]

_DOC: dict[str, Any] = json.loads(files(__package__).joinpath("tool_schemas.json").read_text())
#: An absolute URI as RFC 3986 has it: a scheme, then no white space.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
_NOUNS = {"string": "a string", "integer": "an integer", "number": "a number",
          "boolean": "a boolean", "array": "an array", "object": "an object", "null": "null"}


def _kind(value: Any) -> str:
    """The JSON type of a decoded value (a float with no fraction is also an integer)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "?"


def _fits(types: tuple[str, ...], value: Any) -> bool:
    kind = _kind(value)
    return kind in types or (kind == "integer" and "number" in types)


def _compile(schemas: dict[str, Schema]) -> None:
    """Resolve every ``$ref`` to the schema object it names (cycles are fine: nothing is
    serialized again), compile patterns, and index each union's branches by the ``type``
    they require of an object, so validation never looks a name up."""
    done: set[int] = set()

    def visit(node: Schema) -> Schema:
        if "$ref" in node:
            return schemas[node["$ref"]]
        if id(node) in done:
            return node
        done.add(id(node))
        for key in ("anyOf", "oneOf", "allOf"):
            if key in node:
                node[key] = [visit(b) for b in node[key]]
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                node[key] = visit(node[key])
        if "properties" in node:
            node["properties"] = {k: visit(v) for k, v in node["properties"].items()}
        if isinstance(node.get("type"), str):
            node["type"] = (node["type"],)
        elif isinstance(node.get("type"), list):
            node["type"] = tuple(node["type"])
        if "pattern" in node:
            node["pattern"] = re.compile(node["pattern"])
        return node

    for name in list(schemas):
        schemas[name] = visit(schemas[name])
    for node in _walk(schemas.values()):
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            node["_by_type"], node["_all_typed"] = _discriminate(branches)


def _walk(roots: Any) -> list[Schema]:
    out: list[Schema] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        for key in ("anyOf", "oneOf", "allOf"):
            stack.extend(node.get(key, ()))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
        stack.extend(node.get("properties", {}).values())
    return out


def _discriminate(branches: list[Schema]) -> tuple[dict[str, Schema], bool]:
    """Each ``type`` value an object branch requires, and whether every object branch
    requires one (then an object whose ``type`` is not among them is refused by its type)."""
    by_type: dict[str, Schema] = {}
    all_typed = True
    for branch in _flatten(branches):
        if "object" not in branch.get("type", ("object",)):
            continue
        tag = branch.get("properties", {}).get("type", {})
        values = tag.get("enum") or ([tag["const"]] if "const" in tag else [])
        if not values:
            all_typed = False
        for value in values:
            by_type.setdefault(value, branch)
    return by_type, all_typed and bool(by_type)


def _flatten(branches: list[Schema]) -> list[Schema]:
    out: list[Schema] = []
    for branch in branches:
        nested = branch.get("anyOf") or branch.get("oneOf")
        out.extend(_flatten(nested) if nested and "type" not in branch else [branch])
    return out


def _types_of(schema: Schema) -> list[str]:
    """The JSON types a schema admits, for the message of a value that fits none."""
    if "type" in schema:
        return list(schema["type"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return [t for b in branches for t in _types_of(b)]
    return []


def _noun(schema: Schema) -> str:
    names = list(dict.fromkeys(t for t in _types_of(schema) if t != "null"))
    nouns = [_NOUNS[t] for t in names]
    if len(nouns) == 1:
        return nouns[0]
    head = ", ".join(nouns[:-1])
    return f"one of {head} or {nouns[-1]}" if nouns else "another type"


def _admits(schema: Schema, value: Any) -> bool:
    """Whether the value's JSON type is one the schema allows, before any deeper check."""
    if "type" in schema:
        return _fits(schema["type"], value)
    branches = schema.get("anyOf") or schema.get("oneOf")
    return not branches or any(_admits(b, value) for b in branches)


def validate(schema: Schema, value: Any, path: str) -> None:
    """Raise the API's 400 for the first place ``value`` breaks ``schema``."""
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        _union(schema, branches, value, path)
    for part in schema.get("allOf", ()):
        validate(part, value, path)
    if "type" in schema and not _fits(schema["type"], value):
        raise wrong_type(path, value, _noun(schema))
    allowed = schema.get("enum")
    if allowed is None and "const" in schema:
        allowed = [schema["const"]]
    if allowed is not None and value not in allowed:
        raise invalid(path, f"Invalid value: '{value}'. Supported values are: "
                            f"{listing([str(v) for v in allowed])}.")
    if isinstance(value, str):
        _string(schema, value, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(schema, value, path)
    elif isinstance(value, list):
        _array(schema, value, path)
    elif isinstance(value, dict):
        _object(schema, value, path)


def _union(schema: Schema, branches: list[Schema], value: Any, path: str) -> None:
    by_type: dict[str, Schema] = schema.get("_by_type", {})
    if by_type and isinstance(value, dict):
        tag = value.get("type")
        if isinstance(tag, str) and tag in by_type:
            return validate(by_type[tag], value, path)
        if schema.get("_all_typed"):
            if tag is None:
                raise missing(f"{path}.type")
            if not isinstance(tag, str):
                raise wrong_type(f"{path}.type", tag, "a string")
            raise invalid(f"{path}.type", f"Invalid value: '{tag}'. Supported values are: "
                                          f"{listing(list(by_type))}.")
    fitting = [b for b in branches if _admits(b, value)]
    if not fitting:
        raise wrong_type(path, value, _noun(schema))
    errors: list[ApiError] = []
    for branch in fitting:
        try:
            return validate(branch, value, path)
        except ApiError as e:
            errors.append(e)
    # The branch that got furthest into the value says best what is wrong with it.
    raise max(errors, key=lambda e: len(e.param or ""))


def _length(path: str, n: int, low: int | None, high: int | None, noun: str) -> None:
    """minLength/maxLength of a string and minItems/maxItems of an array, in the API's words
    (which differ only by the noun)."""
    a = "an" if noun == "array" else "a"
    if low is not None and n < low:
        if not n:
            raise invalid(path, f"Invalid '{path}': empty {noun}. Expected {a} {noun} with "
                                f"minimum length {low}, but got an empty {noun} instead.",
                          f"empty_{noun}")
        raise invalid(path, f"Invalid '{path}': {noun} too short. Expected {a} {noun} with "
                            f"minimum length {low}, but got {a} {noun} with length {n} "
                            "instead.", f"{noun}_below_min_length")
    if high is not None and n > high:
        raise invalid(path, f"Invalid '{path}': {noun} too long. Expected {a} {noun} with "
                            f"maximum length {high}, but got {a} {noun} with length {n} "
                            "instead.", f"{noun}_above_max_length")


def _string(schema: Schema, value: str, path: str) -> None:
    _length(path, len(value), schema.get("minLength"), schema.get("maxLength"), "string")
    pattern: re.Pattern[str] | None = schema.get("pattern")
    if pattern is not None and not pattern.search(value):
        raise invalid(path, f"Invalid '{path}': string does not match pattern. Expected a "
                            f"string that matches the pattern '{pattern.pattern}'.")
    if schema.get("format") == "uri" and not _URI.match(value):
        raise invalid(path, f"Invalid '{path}': Expected a valid URI, but got '{value}'.")


def _number(schema: Schema, value: float, path: str) -> None:
    what = "integer" if _kind(value) == "integer" else "decimal"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and value < low:
        raise invalid(path, f"Invalid '{path}': {what} below minimum value. Expected a "
                            f"value >= {low}, but got {value} instead.", f"{what}_below_min_value")
    if high is not None and value > high:
        raise invalid(path, f"Invalid '{path}': {what} above maximum value. Expected a "
                            f"value <= {high}, but got {value} instead.", f"{what}_above_max_value")


def _array(schema: Schema, value: list[Any], path: str) -> None:
    _length(path, len(value), schema.get("minItems"), schema.get("maxItems"), "array")
    items = schema.get("items")
    if items:
        for i, item in enumerate(value):
            validate(items, item, f"{path}[{i}]")


def _object(schema: Schema, value: dict[str, Any], path: str) -> None:
    for name in schema.get("required", ()):
        if value.get(name) is None:
            raise missing(f"{path}.{name}")
    props: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        sub = props.get(key)
        if sub is not None:
            validate(sub, item, f"{path}.{key}")
        elif extra is False:
            raise invalid(f"{path}.{key}", f"Unknown parameter: '{path}.{key}'.",
                          "unknown_parameter")
        elif isinstance(extra, dict) and extra:
            validate(extra, item, f"{path}.{key}")


SCHEMAS: dict[str, Schema] = _DOC["schemas"]
_compile(SCHEMAS)
#: The unions a request's ``tools[i]``, ``tool_choice`` and ``prompt`` must match.
TOOL: Schema = SCHEMAS["Tool"]
TOOL_CHOICE: Schema = SCHEMAS["ToolChoiceParam"]
PROMPT: Schema = SCHEMAS["Prompt"]


def check_tool(where: str, tool: dict[str, Any]) -> None:
    validate(TOOL, tool, where)


def check_tool_choice(choice: dict[str, Any]) -> None:
    validate(TOOL_CHOICE, choice, "tool_choice")


def check_prompt(prompt: dict[str, Any]) -> None:
    validate(PROMPT, prompt, "prompt")
