"""The project's copy of OpenAI's published spec (README.md here says where it came from),
with the few places where it disagrees with the API it describes put right, each with its
reason (docs/reliability.md explains them). The file itself is kept as published.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

SPEC = Path(__file__).with_name("openai-openapi.json")

#: The operations mockllm implements (``mockllm routes``), as the spec names them.
OPERATIONS = {
    ("POST", "/chat/completions"), ("POST", "/completions"), ("POST", "/embeddings"),
    ("POST", "/responses"), ("GET", "/responses/{response_id}"),
    ("DELETE", "/responses/{response_id}"), ("GET", "/models"), ("GET", "/models/{model}"),
}

#: The model a positive case names (the spec's ``model`` is any string; an unknown one is a
#: 404 ``model_not_found``, as from the real API).
MODELS = {"/chat/completions": "gpt-4o", "/completions": "gpt-3.5-turbo-instruct",
          "/embeddings": "text-embedding-3-small", "/responses": "gpt-4o"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _or_base64(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "string", "contentEncoding": "base64"}]}


#: (path of keys into the spec, change, why). docs/reliability.md has the longer story.
QUIRKS: list[tuple[tuple[str, ...], Callable[[dict[str, Any]], dict[str, Any]], str]] = [
    (("components", "schemas", "ModelResponseProperties", "properties", "user"), _nullable,
     "a Response object carries \"user\": null when none was sent; the spec types it string"),
    (("components", "schemas", "Response", "allOf", "2", "properties", "usage"), _nullable,
     "the response.created and response.in_progress events carry a Response with "
     "\"usage\": null (nothing is counted yet); the spec types it ResponseUsage"),
    (("components", "schemas", "Embedding", "properties", "embedding"), _or_base64,
     "encoding_format: base64 answers a base64 string; the spec only knows the float list"),
    (("components", "schemas", "CreateCompletionResponse", "properties", "choices", "items",
      "properties", "logprobs", "anyOf", "0", "properties", "top_logprobs"), _nullable,
     "logprobs: 0 gives token logprobs without alternatives: top_logprobs is null"),
]


def _at(doc: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


@cache
def stream_schemas() -> dict[str, dict[str, Any]]:
    """The schema of each ``data:`` payload of a 200 ``text/event-stream``, by path.

    The spec (OpenAPI 3.1) puts the payload's schema under ``text/event-stream``;
    schemathesis reads such a schema as the SSE frame (``{"event", "data"}``, the OpenAPI 3.2
    sense) and so fails every valid stream. :func:`patched` takes these schemas out and the
    tests check each payload against them instead.
    """
    doc = json.loads(SPEC.read_text())
    out = {}
    for path, item in doc["paths"].items():
        content = item.get("post", {}).get("responses", {}).get("200", {}).get("content", {})
        if "text/event-stream" in content:
            out[path] = content["text/event-stream"]["schema"]
    return out


def patched() -> dict[str, Any]:
    """The spec as a dict, with :data:`QUIRKS` applied and the stream schemas taken out."""
    doc: dict[str, Any] = json.loads(SPEC.read_text())
    for keys, change, _why in QUIRKS:
        parent = _at(doc, keys[:-1])
        key: Any = int(keys[-1]) if isinstance(parent, list) else keys[-1]
        parent[key] = change(parent[key])
    for path in stream_schemas():
        del doc["paths"][path]["post"]["responses"]["200"]["content"]["text/event-stream"]
    return doc


def _nullable_31(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` (which this 3.1 document still uses, and which 3.1
    dropped) as JSON Schema: schemathesis reads it so; a plain validator needs it spelled."""
    if isinstance(node, list):
        return [_nullable_31(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_31(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def stream_validator(path: str) -> jsonschema.Draft202012Validator:
    """A validator of one ``data:`` payload of ``path``'s stream (the patched components)."""
    return jsonschema.Draft202012Validator(
        {**stream_schemas()[path], "components": _nullable_31(patched()["components"])})


@cache
def load() -> OpenApiSchema:
    """The implemented operations of the patched spec. Security parameters are left out:
    every case sends the fuzz server's key, so a 401 never hides what the body does."""
    schema = schemathesis.openapi.from_dict(patched())
    schema.config.generation.update(with_security_parameters=False)
    return schema  # type: ignore[return-value]
