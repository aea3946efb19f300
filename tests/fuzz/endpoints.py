"""Every POST endpoint of every API family, with a body it accepts and the fields a garbage
body may break, and each family's error envelope: the fuzz tests' one table.

``fields`` maps a field of the valid body to the JSON kinds the endpoint takes there; a value
of any other kind must be refused. Only fields whose wrong kind the real API refuses are listed
(an optional field whose null means "unset" lists ``null`` among its kinds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_USER = [{"role": "user", "content": "hi"}]
_GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
           "generationConfig": {"maxOutputTokens": 5}}
_AZURE_Q = "?api-version=2024-10-21"


@dataclass(frozen=True)
class Endpoint:
    path: str
    family: str
    body: dict[str, Any]
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    #: An empty object is refused (some field is required).
    needs_fields: bool = True
    #: List fields whose items must be of these kinds (``messages: [5]`` is refused).
    items: dict[str, frozenset[str]] = field(default_factory=dict)


def _kinds(*names: str) -> frozenset[str]:
    return frozenset(names)


STR = _kinds("str")
LIST = _kinds("list")
OBJ = _kinds("dict")
INT = _kinds("int")
STR_OR_LIST = _kinds("str", "list")

ENDPOINTS: list[Endpoint] = [
    Endpoint("/v1/chat/completions", "openai",
             {"model": "gpt-4o", "messages": _USER, "max_tokens": 5},
             {"model": STR, "messages": LIST}, items={"messages": OBJ}),
    Endpoint("/v1/completions", "openai",
             {"model": "gpt-3.5-turbo-instruct", "prompt": "hi", "max_tokens": 5},
             {"model": STR, "prompt": STR_OR_LIST}),
    Endpoint("/v1/embeddings", "openai", {"model": "text-embedding-3-small", "input": "hi"},
             {"model": STR, "input": STR_OR_LIST}),
    Endpoint("/v1/responses", "openai",
             {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16},
             {"model": STR, "input": _kinds("str", "list", "null")}),
    Endpoint("/v1/messages", "anthropic",
             {"model": "claude-sonnet-5", "max_tokens": 5, "messages": _USER},
             {"model": STR, "max_tokens": INT, "messages": LIST}, items={"messages": OBJ}),
    Endpoint("/v1/messages/count_tokens", "anthropic",
             {"model": "claude-sonnet-5", "messages": _USER},
             {"model": STR, "messages": LIST}, items={"messages": OBJ}),
    Endpoint("/v1/ranking", "nim",
             {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": "q"},
              "passages": [{"text": "a"}, {"text": "b"}]},
             {"model": STR, "query": OBJ, "passages": LIST}, items={"passages": OBJ}),
    Endpoint("/api/chat", "ollama", {"model": "llama3.2", "messages": _USER, "stream": False,
                                     "options": {"num_predict": 5}},
             {"model": STR, "messages": _kinds("list", "null")}),
    Endpoint("/api/generate", "ollama", {"model": "llama3.2", "prompt": "hi", "stream": False,
                                         "options": {"num_predict": 5}},
             {"model": STR, "prompt": _kinds("str", "null")}),
    Endpoint("/api/embed", "ollama", {"model": "nomic-embed-text", "input": "hi"},
             {"model": STR, "input": STR_OR_LIST}),
    Endpoint("/api/embeddings", "ollama", {"model": "nomic-embed-text", "prompt": "hi"},
             {"model": STR, "prompt": STR}),
    Endpoint("/api/show", "ollama", {"model": "llama3.2"}, {"model": STR}),
    Endpoint("/tokenize", "vllm", {"model": "gpt-4o", "prompt": "hi"},
             {"prompt": _kinds("str", "null"), "model": _kinds("str", "null")}),
    Endpoint("/detokenize", "vllm", {"model": "gpt-4o", "tokens": [1, 2]},
             {"tokens": LIST, "model": _kinds("str", "null")}, items={"tokens": INT}),
    Endpoint("/openai/deployments/gpt-4o/chat/completions" + _AZURE_Q, "openai",
             {"messages": _USER, "max_tokens": 5}, {"messages": LIST}, items={"messages": OBJ}),
    Endpoint("/openai/deployments/gpt-3.5-turbo-instruct/completions" + _AZURE_Q, "openai",
             {"prompt": "hi", "max_tokens": 5}, {"prompt": STR_OR_LIST}),
    Endpoint("/openai/deployments/text-embedding-3-small/embeddings" + _AZURE_Q, "openai",
             {"input": "hi"}, {"input": STR_OR_LIST}),
    Endpoint("/openai/v1/chat/completions", "openai",
             {"model": "gpt-4o", "messages": _USER, "max_tokens": 5},
             {"model": STR, "messages": LIST}, items={"messages": OBJ}),
    Endpoint("/openai/v1/completions", "openai",
             {"model": "gpt-3.5-turbo-instruct", "prompt": "hi", "max_tokens": 5},
             {"model": STR, "prompt": STR_OR_LIST}),
    Endpoint("/openai/v1/embeddings", "openai",
             {"model": "text-embedding-3-small", "input": "hi"},
             {"model": STR, "input": STR_OR_LIST}),
    Endpoint("/openai/v1/responses", "openai",
             {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16}, {"model": STR}),
    Endpoint("/openai/responses?api-version=2025-03-01-preview", "openai",
             {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16}, {"model": STR}),
    *(
        e for version in ("v1", "v1beta") for e in (
            Endpoint(f"/{version}/models/gemini-2.5-flash:generateContent", "gemini", _GEMINI,
                     {"contents": LIST}, items={"contents": OBJ}),
            Endpoint(f"/{version}/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                     "gemini", _GEMINI, {"contents": LIST}),
            Endpoint(f"/{version}/models/gemini-2.5-flash:countTokens", "gemini",
                     {"contents": _GEMINI["contents"]}, {"contents": _kinds("list", "null")},
                     needs_fields=False),
            Endpoint(f"/{version}/models/gemini-embedding-001:embedContent", "gemini",
                     {"content": {"parts": [{"text": "hi"}]}}, {"content": OBJ}),
            Endpoint(f"/{version}/models/gemini-embedding-001:batchEmbedContents", "gemini",
                     {"requests": [{"model": "models/gemini-embedding-001",
                                    "content": {"parts": [{"text": "hi"}]}}]},
                     {"requests": LIST}, items={"requests": OBJ}),
        )
    ),
    *(
        Endpoint(path, "rerank", {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": "q",
                                  "documents": ["a", "b"]},
                 {"query": STR, "documents": LIST, "model": _kinds("str", "null")},
                 items={"documents": _kinds("str", "dict")})
        for path in ("/rerank", "/v1/rerank", "/v2/rerank")
    ),
    *(
        Endpoint(f"/model/anthropic.claude-haiku-5-5/{op}", "bedrock",
                 {"messages": [{"role": "user", "content": [{"text": "hi"}]}],
                  "inferenceConfig": {"maxTokens": 5}},
                 {"messages": LIST}, items={"messages": OBJ})
        for op in ("converse", "converse-stream")
    ),
    # The admin API speaks OpenAI's envelope. Its valid body re-selects the plugin that
    # already serves chat, so accepting it leaves the shared server answering as before.
    Endpoint("/_mockllm/plugins/use", "openai",
             {"key": "openai.chat", "plugin": "builtin.openai"},
             {"key": STR}),
]


def route_of(path: str) -> str:
    """The route template a table path is served by (``mockllm routes`` spelling)."""
    import re

    path = path.split("?")[0]
    path = re.sub(r"^/openai/deployments/[^/]+/", "/openai/deployments/{deployment}/", path)
    path = re.sub(r"^/model/[^/]+/", "/model/{modelId:path}/", path)
    return re.sub(r"^/(v1|v1beta)/models/[^/:]+:", r"/\1/models/{model}:", path)


def kind(value: Any) -> str:
    """The JSON kind of a decoded value (bool before int: bool is an int in Python)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    for name, cls in (("int", int), ("float", float), ("str", str), ("list", list)):
        if isinstance(value, cls):
            return name
    return "dict"


def envelope_ok(family: str, doc: Any) -> bool:
    """The error body is in the family's own envelope."""
    if not isinstance(doc, dict):
        return False
    error = doc.get("error")
    if family in ("openai", "vllm"):
        return isinstance(error, dict) and {"message", "type", "param", "code"} <= set(error)
    if family == "anthropic":
        return doc.get("type") == "error" and isinstance(error, dict) and {
            "type", "message"} <= set(error)
    if family == "ollama":
        return isinstance(error, str) and set(doc) == {"error"}
    if family == "nim":
        return doc.get("object") == "error" and isinstance(doc.get("message"), str)
    if family == "bedrock":
        # the error's type is in the x-amzn-ErrorType header; the body is the message alone
        return set(doc) == {"message"} and isinstance(doc["message"], str)
    if family == "rerank":
        return isinstance(doc.get("message"), str) and isinstance(doc.get("id"), str)
    if family == "gemini":
        return isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(
            error.get("message"), str) and isinstance(error.get("status"), str)
    raise AssertionError(f"no envelope known for {family}")
