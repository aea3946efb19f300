"""A Plan rendered as a ``ConverseResponse``, or as the events of ``ConverseStream``.

Block order is Bedrock's for Claude: ``reasoningContent`` (with its signature), text, then
``toolUse`` blocks. In a stream only a ``toolUse`` block opens with ``contentBlockStart``;
text and reasoning blocks begin with their first ``contentBlockDelta``, as the service sends
them. The stream ends with ``messageStop`` (the stop reason) and ``metadata`` (usage and
``latencyMs``); there is no terminator.
"""

from __future__ import annotations

import hashlib

import msgspec

from mockllm import Frame
from mockllm.engine.plan import Plan, ToolCall
from plugins_builtin.anthropic.render import signature
from plugins_builtin.bedrock.wire import (
    ConverseResponse,
    Metrics,
    OutBlock,
    OutMessage,
    Output,
    OutReasoning,
    OutReasoningText,
    OutToolUse,
    TokenUsage,
    encoder,
)

STOP_REASONS = {
    "stop": "end_turn",
    "stop_sequence": "stop_sequence",
    "tool_calls": "tool_use",
    "length": "max_tokens",
}

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def tool_use_id(call: ToolCall) -> str:
    """``tooluse_`` and 22 characters, derived from the engine's (random) call id."""
    n = int.from_bytes(hashlib.blake2b(call.id.encode(), digest_size=16).digest(), "big")
    out = []
    for _ in range(22):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "tooluse_" + "".join(out)


def _input(call: ToolCall) -> object:
    try:
        return msgspec.json.decode(call.arguments)
    except msgspec.DecodeError:
        # A rule may give arguments as a raw string that is not JSON; the API always sends
        # an object, so wrap it rather than fail.
        return {"input": call.arguments}


def usage(plan: Plan) -> TokenUsage:
    out = plan.completion_tokens
    return TokenUsage(plan.prompt_tokens, out, plan.prompt_tokens + out)


def response(plan: Plan, latency_ms: int) -> ConverseResponse:
    choice = plan.choices[0]
    blocks: list[OutBlock] = []
    if choice.reasoning_pieces:
        text = choice.reasoning
        blocks.append(OutBlock(reasoning_content=OutReasoning(
            OutReasoningText(text, signature(plan.model.id, text)))))
    if choice.pieces or not (choice.tool_calls or blocks):
        blocks.append(OutBlock(text=choice.text))
    blocks.extend(OutBlock(tool_use=OutToolUse(tool_use_id(tc), tc.name, _input(tc)))
                  for tc in choice.tool_calls)
    return ConverseResponse(
        output=Output(OutMessage("assistant", blocks)),
        stop_reason=STOP_REASONS[choice.finish_reason],
        usage=usage(plan),
        metrics=Metrics(latency_ms),
    )


def _delta(index: int, member: bytes, value: bytes) -> bytes:
    return (b'{"contentBlockIndex":' + str(index).encode() + b',"delta":{' + member + b":"
            + value + b"}}")


def stream(plan: Plan, latency_ms: int) -> list[Frame]:
    """Every event of the answer; token deltas are the paced frames."""
    choice = plan.choices[0]
    frames = [Frame("messageStart", b'{"role":"assistant"}')]
    index = 0
    if choice.reasoning_pieces:
        for piece in choice.reasoning_pieces:
            frames.append(Frame("contentBlockDelta", _delta(
                index, b'"reasoningContent"', b'{"text":' + encoder.encode(piece) + b"}"),
                token=True))
        sig = signature(plan.model.id, choice.reasoning)
        frames.append(Frame("contentBlockDelta", _delta(
            index, b'"reasoningContent"', b'{"signature":' + encoder.encode(sig) + b"}")))
        frames.append(_stop(index))
        index += 1
    if choice.pieces or not (choice.tool_calls or index):
        for piece in choice.pieces or [""]:
            frames.append(Frame("contentBlockDelta",
                                _delta(index, b'"text"', encoder.encode(piece)),
                                token=bool(choice.pieces)))
        frames.append(_stop(index))
        index += 1
    for tc in choice.tool_calls:
        start = {"contentBlockIndex": index,
                 "start": {"toolUse": {"toolUseId": tool_use_id(tc), "name": tc.name}}}
        frames.append(Frame("contentBlockStart", encoder.encode(start)))
        for piece in tc.pieces or [tc.arguments]:
            frames.append(Frame("contentBlockDelta", _delta(
                index, b'"toolUse"', b'{"input":' + encoder.encode(piece) + b"}"),
                token=bool(tc.pieces)))
        frames.append(_stop(index))
        index += 1
    stop = {"stopReason": STOP_REASONS[choice.finish_reason]}
    frames.append(Frame("messageStop", encoder.encode(stop), final=True))
    metadata = {"usage": usage(plan), "metrics": Metrics(latency_ms)}
    frames.append(Frame("metadata", encoder.encode(metadata), final=True))
    return frames


def _stop(index: int) -> Frame:
    return Frame("contentBlockStop", b'{"contentBlockIndex":' + str(index).encode() + b"}")
