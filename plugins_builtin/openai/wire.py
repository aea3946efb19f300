"""Shared wire pieces of the OpenAI API: usage structs, ids, timestamps, the encoder.

``new_id`` and ``now`` are looked up through this module at call time, so a test can pin
them (``monkeypatch.setattr(wire, "now", lambda: 0)``) and compare streams byte for byte.
"""

from __future__ import annotations

import time

import msgspec
from starlette.responses import Response

from mockllm.ids import random_hex
from mockllm.responses import JsonBytes

#: The one encoder every OpenAI endpoint renders with.
encoder = msgspec.json.Encoder()

SYSTEM_FINGERPRINT = "fp_mockllm"


def new_id(prefix: str) -> str:
    """``prefix`` + 24 random hex digits (``chatcmpl-``, ``resp_``, ``call_``...)."""
    return prefix + random_hex(12)


def now() -> int:
    """The ``created`` timestamp: whole seconds since the epoch."""
    return int(time.time())


def json_response(obj: object, status: int = 200) -> Response:
    return JsonBytes(encoder.encode(obj), status)


#: The plan's neutral finish reasons in chat/completions vocabulary.
FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
          "stop_sequence": "stop", "content_filter": "content_filter"}


# The details are frozen so one shared zero instance can stand in every answer that has
# nothing to report (most of them): no two allocations per response for constant bytes.
class PromptTokensDetails(msgspec.Struct, frozen=True):
    cached_tokens: int = 0
    audio_tokens: int = 0


class CompletionTokensDetails(msgspec.Struct, frozen=True):
    reasoning_tokens: int = 0
    audio_tokens: int = 0
    accepted_prediction_tokens: int = 0
    rejected_prediction_tokens: int = 0


class Usage(msgspec.Struct):
    """Chat and completions usage; ``completion_tokens`` counts the pieces actually sent."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails = msgspec.field(
        default_factory=PromptTokensDetails)
    completion_tokens_details: CompletionTokensDetails = msgspec.field(
        default_factory=CompletionTokensDetails)


_NO_PROMPT_DETAILS = PromptTokensDetails()
_NO_COMPLETION_DETAILS = CompletionTokensDetails()


def usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> Usage:
    details = (CompletionTokensDetails(reasoning_tokens) if reasoning_tokens
               else _NO_COMPLETION_DETAILS)
    return Usage(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens,
                 _NO_PROMPT_DETAILS, details)


class StreamOptions(msgspec.Struct):
    include_usage: bool = False
    include_obfuscation: bool = True


class GenerationParams(msgspec.Struct, kw_only=True):
    """Request fields chat and completions share: sampling, streaming, and vLLM's
    load-test extensions (``ignore_eos``, ``min_tokens``). Keyword-only, so each request
    Struct keeps its own required fields first."""

    n: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    ignore_eos: bool = False
    min_tokens: int = 0
