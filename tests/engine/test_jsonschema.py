"""Deterministic instances of JSON schemas: they validate, and the seed decides them."""

from __future__ import annotations

from typing import Any

import jsonschema as validator
import pytest

from mockllm.engine.jsonschema import SchemaError, instance

SCHEMAS: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "string", "minLength": 40, "maxLength": 45},
    {"type": "string", "maxLength": 2},
    *({"type": "string", "format": f} for f in (
        "date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname")),
    {"type": "integer", "minimum": -5, "maximum": 5},
    {"type": "integer", "exclusiveMinimum": 10, "exclusiveMaximum": 12},
    {"type": "integer", "multipleOf": 7, "minimum": 1, "maximum": 30},
    {"type": "number", "minimum": 0.001, "maximum": 0.002},
    {"type": "number", "exclusiveMaximum": 0},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["string", "null"]},
    {"enum": ["a", 1, None]},
    {"const": {"fixed": True}},
    {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 4},
    {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}],
     "minItems": 2, "maxItems": 2},
    {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"x": {"type": "integer"}},
                                  "required": ["x"]}]},
    {"oneOf": [{"type": "string", "format": "email"}]},
    {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
               {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]},
    {"$ref": "#/$defs/node", "$defs": {"node": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "children": {"type": "array",
                                                      "items": {"$ref": "#/$defs/node"}}},
        "required": ["name", "children"], "additionalProperties": False}}},
    {"type": "object", "properties": {"p": {"$ref": "#/definitions/p"}}, "required": ["p"],
     "definitions": {"p": {"type": "string", "pattern": "^[a-z]+$", "examples": ["abc"]}}},
    {},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
def test_instances_validate(schema: dict[str, Any]) -> None:
    for seed in range(8):
        validator.validate(instance(schema, seed), schema)


def test_same_seed_same_value_other_seed_other_value() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"},
                                               "b": {"type": "number"}}}
    assert instance(schema, 1) == instance(schema, 1)
    assert len({str(instance(schema, s)) for s in range(10)}) > 1


@pytest.mark.parametrize("schema", [
    False, {"enum": []}, {"$ref": "#/$defs/missing"}, {"$ref": "http://x/y"},
    {"type": "integer", "minimum": 5, "maximum": 1}, {"type": "martian"},
])
def test_unsatisfiable_schemas_raise(schema: Any) -> None:
    with pytest.raises(SchemaError):
        instance(schema)
