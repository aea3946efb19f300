"""A Plan rendered as a Gemini ``GenerateContentResponse``, or as its stream of chunks.

Part order is the API's: thought parts (only with ``includeThoughts``), then text, then
``functionCall`` parts. Usage counts the tokens sent: ``candidatesTokenCount`` is the text and
function-call pieces, ``thoughtsTokenCount`` the reasoning pieces (reported even when the
thoughts themselves are not returned, as the API does).

Every stream chunk is a whole ``GenerateContentResponse`` carrying the cumulative
``usageMetadata``; the last one carries ``finishReason``. There is no ``[DONE]``.
"""

from __future__ import annotations

import base64

import msgspec

from mockllm import Frame
from mockllm.engine.plan import Choice, Plan, ToolCall
from mockllm.ids import random_int
from plugins_builtin.gemini.wire import (
    Candidate,
    GenerateContentResponse,
    ModalityCount,
    OutContent,
    OutFunctionCall,
    OutPart,
    UsageMetadata,
    encoder,
)

FINISH_REASONS = {
    "stop": "STOP",
    "stop_sequence": "STOP",
    "tool_calls": "STOP",  # Gemini has no separate reason for a function call
    "length": "MAX_TOKENS",
}


def new_response_id() -> str:
    """A 22- to 24-character URL-safe id, like the API's ``responseId``."""
    return base64.urlsafe_b64encode(random_int(128).to_bytes(16, "big")).decode().rstrip("=")


def _args(call: ToolCall) -> object:
    try:
        return msgspec.json.decode(call.arguments)
    except msgspec.DecodeError:
        # A rule may give arguments as a raw string that is not JSON; the API always sends
        # an object, so wrap it rather than fail.
        return {"input": call.arguments}


def parts(choice: Choice, thoughts: bool) -> list[OutPart]:
    out: list[OutPart] = []
    if thoughts and choice.reasoning_pieces:
        out.append(OutPart(text=choice.reasoning, thought=True))
    if choice.pieces or not (choice.tool_calls or out):
        out.append(OutPart(text=choice.text))
    out.extend(OutPart(function_call=OutFunctionCall(tc.name, _args(tc)))
               for tc in choice.tool_calls)
    return out


def _details(prompt_tokens: int) -> list[ModalityCount]:
    return [ModalityCount("TEXT", prompt_tokens)]


def usage(plan: Plan) -> UsageMetadata:
    thoughts = sum(len(c.reasoning_pieces) for c in plan.choices)
    candidates = plan.completion_tokens - thoughts
    return UsageMetadata(
        prompt_token_count=plan.prompt_tokens,
        candidates_token_count=candidates,
        total_token_count=plan.prompt_tokens + candidates + thoughts,
        prompt_tokens_details=_details(plan.prompt_tokens),
        thoughts_token_count=thoughts if thoughts else msgspec.UNSET,
    )


def response(plan: Plan, response_id: str, thoughts: bool) -> GenerateContentResponse:
    return GenerateContentResponse(
        candidates=[
            Candidate(OutContent(parts(c, thoughts)), FINISH_REASONS[c.finish_reason],
                      c.index)
            for c in plan.choices
        ],
        usage_metadata=usage(plan),
        model_version=plan.model.id,
        response_id=response_id,
    )


class _Chunks:
    """Builds chunk bytes by hand: each token chunk differs only in its part and usage."""

    def __init__(self, plan: Plan, response_id: str) -> None:
        self.prompt = plan.prompt_tokens
        self.tail = (b',"modelVersion":' + encoder.encode(plan.model.id)
                     + b',"responseId":' + encoder.encode(response_id) + b"}")
        self.details = (b',"promptTokensDetails":[{"modality":"TEXT","tokenCount":'
                        + str(self.prompt).encode() + b"}]")
        self.candidates = 0
        self.thoughts = 0

    def usage(self) -> bytes:
        out = (b'"usageMetadata":{"promptTokenCount":' + str(self.prompt).encode()
               + b',"candidatesTokenCount":' + str(self.candidates).encode()
               + b',"totalTokenCount":'
               + str(self.prompt + self.candidates + self.thoughts).encode() + self.details)
        if self.thoughts:
            out += b',"thoughtsTokenCount":' + str(self.thoughts).encode()
        return out + b"}"

    def chunk(self, part: bytes, index: int, finish: str | None = None) -> bytes:
        end = b'},"finishReason":"' + finish.encode() + b'"' if finish else b"}"
        return (b'{"candidates":[{"content":{"parts":[' + part + b'],"role":"model"'
                + end + b',"index":' + str(index).encode() + b"}]," + self.usage()
                + self.tail)


def stream(plan: Plan, response_id: str, thoughts: bool) -> list[Frame]:
    """Every chunk of the answer: one per token piece, then one closing chunk per candidate."""
    build = _Chunks(plan, response_id)
    frames: list[Frame] = []
    for choice in plan.choices:
        for piece in choice.reasoning_pieces:
            build.thoughts += 1
            if thoughts:
                part = b'{"text":' + encoder.encode(piece) + b',"thought":true}'
                frames.append(Frame(None, build.chunk(part, choice.index), token=True))
        for piece in choice.pieces:
            build.candidates += 1
            frames.append(Frame(None, build.chunk(b'{"text":' + encoder.encode(piece) + b"}",
                                                  choice.index), token=True))
        for tc in choice.tool_calls:
            # The API sends a function call whole, in one chunk.
            build.candidates += len(tc.pieces)
            call = encoder.encode(OutPart(function_call=OutFunctionCall(tc.name, _args(tc))))
            frames.append(Frame(None, build.chunk(call, choice.index), token=True))
        frames.append(Frame(None, build.chunk(b'{"text":""}', choice.index,
                                              FINISH_REASONS[choice.finish_reason]),
                            final=True))
    return frames


def error_chunk(body: bytes) -> Frame:
    """A mid-stream failure: the API's error envelope as the last ``data:`` event."""
    return Frame(None, body)
