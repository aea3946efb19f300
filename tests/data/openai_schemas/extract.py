"""Extract the OpenAI component schemas the conformance tests validate against.

Run from the repository root when OpenAI's spec changes::

    python tests/data/openai_schemas/extract.py ../shared/reference/openai-openapi.json

It reads OpenAI's published OpenAPI document, takes the ``ROOTS`` below with every schema
they reach through ``$ref``, and writes one self-contained JSON Schema (Draft 2020-12) bundle,
``openai_components.json``, beside this file. The tests read only that bundle, never the spec,
so a clone without ``../shared`` still runs them.

Two rewrites make the OpenAPI schemas plain JSON Schema:

- ``nullable: true`` (OpenAPI 3.0, still on ~100 schemas of this 3.1 document) becomes
  ``"null"`` in ``type`` (and ``None`` in ``enum``), or ``anyOf [schema, {type: null}]``
  where the schema has no ``type`` of its own (a ``$ref``, an ``anyOf``...).
- ``#/components/schemas/X`` becomes ``#/$defs/X``; 2019-09's ``$recursiveRef: "#"`` (on
  ``CompoundFilter``, with ``$recursiveAnchor``) becomes a plain ``$ref`` to its own schema.

Annotations no validator reads (``description``, ``title``, examples, ``x-*`` vendor keys,
``discriminator``) are dropped to keep the committed file small.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

#: The schemas the tests validate responses against.
ROOTS = (
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "CreateCompletionResponse",
    "CreateEmbeddingResponse",
    "ListModelsResponse",
    "Model",
    "Response",
    "ResponseStreamEvent",
    "ErrorResponse",
)

_PREFIX = "#/components/schemas/"
_DROP = {"description", "title", "example", "examples", "externalDocs", "discriminator",
         "deprecated"}
#: Keywords whose value maps names to schemas (their keys are names, not keywords).
_SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
#: Keywords whose value is one schema or a list of schemas.
_SCHEMA_VALUES = {"items", "additionalProperties", "not", "if", "then", "else", "contains",
                  "propertyNames", "unevaluatedItems", "unevaluatedProperties"}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}


def convert(schema: Any, owner: str) -> Any:
    """One OpenAPI schema object (inside component ``owner``) as Draft 2020-12 JSON Schema."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or key.startswith("x-") or key in ("nullable", "$recursiveAnchor"):
            continue
        if key == "$ref":
            out[key] = "#/$defs/" + value.removeprefix(_PREFIX)
        elif key == "$recursiveRef":
            out["$ref"] = f"#/$defs/{owner}"
        elif key in _SCHEMA_MAPS:
            out[key] = {name: convert(sub, owner) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [convert(sub, owner) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = ([convert(s, owner) for s in value] if isinstance(value, list)
                        else convert(value, owner))
        else:
            out[key] = value
    if schema.get("nullable") is True:
        out = _allow_null(out)
    return out


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if isinstance(kind, list):
        if "null" not in kind:
            schema["type"] = [*kind, "null"]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def reachable(schemas: dict[str, Any], roots: tuple[str, ...]) -> list[str]:
    """``roots`` and every component schema they reach through ``$ref``, sorted."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return sorted(seen)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"].removeprefix(_PREFIX)] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def bundle(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (f"Extracted from OpenAI's OpenAPI spec {spec['info'].get('version', '?')} "
                     "by tests/data/openai_schemas/extract.py; do not edit by hand."),
        "roots": list(ROOTS),
        "$defs": {name: convert(schemas[name], name) for name in reachable(schemas, ROOTS)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="OpenAI's openapi.json")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name("openai_components.json"))
    args = parser.parse_args()
    data = bundle(json.loads(args.spec.read_text(encoding="utf-8")))
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(data['$defs'])} schemas")


if __name__ == "__main__":
    main()
