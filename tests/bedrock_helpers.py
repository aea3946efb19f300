"""What the Bedrock tests share: the config, a boto3 ``bedrock-runtime`` client pointed at a
live server, and small helpers."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"

CONFIG = """
models:
  - {id: "anthropic.claude-haiku-4-5-20251001-v1:0", provider: bedrock, context_window: 200000,
     max_output_tokens: 64000, tokenizer: cl100k_base}
  - {id: anthropic.claude-opus-5-5, provider: bedrock, max_output_tokens: 128000,
     capabilities: {thinking: [adaptive], forced_tools: false}}
  - {id: "meta.llama3-3-70b-instruct-v1:0", provider: bedrock, max_output_tokens: 8192,
     capabilities: {forced_tools: false}}
  - {id: "amazon.nova-2-lite-v1:0", provider: bedrock, max_output_tokens: 65536}
  - {id: "amazon.nova-micro-v1:0", provider: bedrock, context_window: 20}
  - {id: gpt-4o, provider: openai}
rules:
  - name: tool-result
    match: {provider: bedrock, tool_result: true}
    respond: {text: "It is sunny and 18C in Paris."}
  - name: pirate
    match: {provider: bedrock, system: {contains: pirate}}
    respond: {text: "Arr, matey."}
  - name: hello
    match: {provider: bedrock, last_user: {contains: hello}}
    respond: {text: "Hello world, from Bedrock."}
  - name: think
    match: {provider: bedrock, last_user: {contains: ponder}}
    respond: {text: "Forty-two.", reasoning: "Let me think about the question first."}
  - name: mid-stream
    match: {header: {x-mock-scenario: mid-stream}}
    respond: {text: "one two three four five six", fault: {kind: error, status: 503, after: 2}}
  - name: throttled
    match: {header: {x-mock-scenario: throttled}}
    respond: {error: {status: 429}}
  - name: unavailable
    match: {header: {x-mock-scenario: unavailable}}
    respond: {error: {status: 503}}
"""

WEATHER = {"toolSpec": {
    "name": "get_weather",
    "description": "The current weather of a city.",
    "inputSchema": {"json": {
        "type": "object",
        "properties": {"city": {"type": "string"},
                       "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    }},
}}
SCHEMA = WEATHER["toolSpec"]["inputSchema"]["json"]  # type: ignore[index]


def client(url: str, key: str = "AKIDEXAMPLE", **headers: str) -> Any:
    """boto3's client with fake credentials, no retries, and ``headers`` added to every
    request (control headers such as ``x-mock-scenario``). Close it after use."""
    c = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                     aws_access_key_id=key, aws_secret_access_key="fake-secret",
                     config=Config(retries={"total_max_attempts": 1}))
    if headers:
        def add(request: Any, **_: Any) -> None:
            for name, value in headers.items():
                request.headers[name] = value
        c.meta.events.register_first("before-sign.bedrock-runtime.*", add)
    return c


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def events(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The stream as botocore's event-stream parser yields it: (event name, body)."""
    return [next(iter(e.items())) for e in response["stream"]]


def signed_headers(key: str = "AKIDEXAMPLE") -> dict[str, str]:
    """A SigV4-shaped Authorization header (the server does not verify the signature)."""
    return {"authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261202/us-east-1/bedrock/"
                             "aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            "x-amz-date": "20261202T000000Z"}
