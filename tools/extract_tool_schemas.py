"""Extract the Responses API's ``Tool``, ``ToolChoiceParam`` and ``Prompt`` schemas, with
every schema they refer to, from the project's copy of OpenAI's spec into package data:

    python tools/extract_tool_schemas.py   # writes plugins_builtin/openai/tool_schemas.json

Only what validation reads is kept (no descriptions, titles, examples, defaults, ``x-``
extensions), and ``$ref`` becomes the bare schema name, so the server never reads the spec
(3 MB) and tests never need tests/fuzz at run time. Re-run after updating the spec copy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "fuzz" / "openai-openapi.json"
OUT = ROOT / "plugins_builtin" / "openai" / "tool_schemas.json"
ROOTS = ("Tool", "ToolChoiceParam", "Prompt")
KEEP = {"type", "properties", "required", "enum", "const", "items", "anyOf", "oneOf", "allOf",
        "additionalProperties", "minLength", "maxLength", "minimum", "maximum", "minItems",
        "maxItems", "pattern", "format", "$ref"}


def _strip(node: Any, wanted: list[str], here: str) -> Any:
    if isinstance(node, list):
        return [_strip(v, wanted, here) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("$recursiveRef") == "#":
        # CompoundFilter nests itself this way; the validator knows only $ref.
        return {"$ref": here}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in KEEP or (key == "format" and value != "uri"):
            continue  # of the formats, only a URI's is checked (the others are numbers')
        if key == "$ref":
            name = value.rsplit("/", 1)[-1]
            wanted.append(name)
            out[key] = name
        elif key == "properties":
            out[key] = {k: _strip(v, wanted, here) for k, v in value.items()}
        else:
            out[key] = _strip(value, wanted, here)
    return out


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    defs: dict[str, Any] = {}
    wanted = list(ROOTS)
    while wanted:
        name = wanted.pop()
        if name not in defs:
            defs[name] = _strip(schemas[name], wanted, name)
    return dict(sorted(defs.items()))


def main() -> None:
    raw = SPEC.read_bytes()
    spec = json.loads(raw)
    doc = {
        "origin": f"OpenAI's OpenAPI spec '{spec['info']['title']}' version "
                  f"{spec['info']['version']} (MIT licence), tests/fuzz/openai-openapi.json",
        "sha256": hashlib.sha256(raw).hexdigest(),
        "generated_by": "tools/extract_tool_schemas.py",
        "schemas": extract(spec),
    }
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(doc['schemas'])} schemas")


if __name__ == "__main__":
    main()
