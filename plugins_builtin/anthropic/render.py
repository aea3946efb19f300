"""A Plan rendered as an Anthropic Message, or as its stream of named SSE events.

Block order is the API's: thinking, then text, then tool_use. Usage counts the tokens sent:
``output_tokens`` is the number of pieces streamed (thinking, text and tool input).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import msgspec

from mockllm import Frame
from mockllm.engine.plan import Choice, Plan, ToolCall
from mockllm.ids import random_int
from plugins_builtin.anthropic.wire import (
    MESSAGE_STOP,
    PING,
    BlockStart,
    BlockStop,
    ContentBlock,
    DeltaUsage,
    Message,
    MessageDelta,
    MessageStart,
    StopDelta,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
    encoder,
)

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_calls": "tool_use",
}

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: Two base62 digits per entry, the lower one first: half the divisions of one at a time
#: (two ids per answer, a request id and a message id, are made on every request).
_PAIRS = tuple(lo + hi for hi in _B62 for lo in _B62)


def _base62(n: int, width: int) -> str:
    """``width`` base62 digits of ``n``, least significant first."""
    out = []
    for _ in range(width // 2):
        n, r = divmod(n, 3844)
        out.append(_PAIRS[r])
    if width % 2:
        out.append(_B62[n % 62])
    return "".join(out)


#: Base64's two characters that base62 lacks, as two that it has.
_TO_B62 = bytes.maketrans(b"+/", b"Zz")


def new_id(prefix: str) -> str:
    """``msg_01…`` / ``req_01…``: the API's prefix, ``01`` and 22 base62 characters.

    Random, so any 22 of the alphabet do: base64 of 132 random bits with its two extra
    characters swapped costs a tenth of :func:`_base62` (two ids on every request)."""
    raw = binascii.b2a_base64(random_int(136).to_bytes(17, "big"), newline=False)
    return f"{prefix}_01{raw[:22].translate(_TO_B62).decode()}"


def tool_use_id(call: ToolCall) -> str:
    """A ``toolu_01…`` id derived from the engine's call id (random per answer, like the API's)."""
    digest = hashlib.blake2b(call.id.encode(), digest_size=16).digest()
    return "toolu_01" + _base62(int.from_bytes(digest, "big"), 22)


def signature(model: str, thinking: str) -> str:
    """An opaque, deterministic stand-in for the signature of a thinking block."""
    digest = hashlib.sha256(f"{model}\0{thinking}".encode()).digest()
    return base64.b64encode(b"\x12\x08" + digest + digest[::-1]).decode()


def _input(call: ToolCall) -> object:
    try:
        return msgspec.json.decode(call.arguments)
    except msgspec.DecodeError:
        # A rule may give arguments as a raw string that is not JSON; the API always sends
        # an object, so wrap it rather than fail.
        return {"input": call.arguments}


def blocks(plan: Plan, choice: Choice, omit_thinking: bool = False) -> list[ContentBlock]:
    """``omit_thinking`` (``thinking.display: omitted``): the block is empty but signed."""
    out: list[ContentBlock] = []
    if choice.reasoning_pieces:
        sig = signature(plan.model.id, choice.reasoning)
        out.append(ThinkingBlock("" if omit_thinking else choice.reasoning, sig))
    if choice.pieces or not (choice.tool_calls or choice.reasoning_pieces):
        out.append(TextBlock(choice.text))
    if choice.tool_calls:  # guarded: an answer without tools runs no generator
        out.extend(ToolUseBlock(tool_use_id(tc), tc.name, _input(tc))
                   for tc in choice.tool_calls)
    return out


def message(plan: Plan, msg_id: str, omit_thinking: bool = False) -> Message:
    choice = plan.choices[0]
    return Message(
        id=msg_id, role="assistant", model=plan.model.id,
        content=blocks(plan, choice, omit_thinking),
        stop_reason=STOP_REASONS[choice.finish_reason], stop_sequence=choice.stop_sequence,
        usage=Usage(input_tokens=plan.prompt_tokens, output_tokens=choice.completion_tokens),
    )


# Delta payloads are the hot path of a stream: prefix + JSON string + suffix, no Struct.
def _delta_prefix(index: int, kind: str, field: str) -> bytes:
    return (b'{"type":"content_block_delta","index":' + str(index).encode()
            + b',"delta":{"type":"' + kind.encode() + b'","' + field.encode() + b'":')


def _deltas(index: int, kind: str, field: str, pieces: list[str]) -> list[Frame]:
    prefix = _delta_prefix(index, kind, field)
    return [Frame("content_block_delta", prefix + encoder.encode(p) + b"}}", token=True)
            for p in pieces]


def stream(plan: Plan, msg_id: str, omit_thinking: bool = False) -> list[Frame]:
    """Every event of the answer, in the API's order; ping follows the first block start."""
    choice = plan.choices[0]
    start = Message(
        id=msg_id, role="assistant", model=plan.model.id, content=[], stop_reason=None,
        stop_sequence=None, usage=Usage(input_tokens=plan.prompt_tokens, output_tokens=1),
    )
    frames = [Frame("message_start", encoder.encode(MessageStart(start)))]

    def open_block(index: int, block: ContentBlock) -> None:
        frames.append(Frame("content_block_start", encoder.encode(BlockStart(index, block))))
        if index == 0:
            frames.append(Frame("ping", PING))

    def close_block(index: int) -> None:
        frames.append(Frame("content_block_stop", encoder.encode(BlockStop(index))))

    index = 0
    if choice.reasoning_pieces:
        open_block(index, ThinkingBlock("", ""))
        if not omit_thinking:
            frames.extend(_deltas(index, "thinking_delta", "thinking", choice.reasoning_pieces))
        sig = signature(plan.model.id, choice.reasoning)
        frames.append(Frame("content_block_delta", _delta_prefix(
            index, "signature_delta", "signature") + encoder.encode(sig) + b"}}"))
        close_block(index)
        index += 1
    if choice.pieces or not (choice.tool_calls or choice.reasoning_pieces):
        open_block(index, TextBlock(""))
        frames.extend(_deltas(index, "text_delta", "text", choice.pieces))
        close_block(index)
        index += 1
    for tc in choice.tool_calls:
        open_block(index, ToolUseBlock(tool_use_id(tc), tc.name, {}))
        # The API opens every tool input with an empty fragment.
        frames.append(Frame("content_block_delta", _delta_prefix(
            index, "input_json_delta", "partial_json") + b'""}}'))
        frames.extend(_deltas(index, "input_json_delta", "partial_json", tc.pieces))
        close_block(index)
        index += 1
    end = MessageDelta(
        StopDelta(STOP_REASONS[choice.finish_reason], choice.stop_sequence),
        DeltaUsage(input_tokens=plan.prompt_tokens, output_tokens=choice.completion_tokens),
    )
    frames.append(Frame("message_delta", encoder.encode(end), final=True))
    frames.append(Frame("message_stop", MESSAGE_STOP, final=True))
    return frames
