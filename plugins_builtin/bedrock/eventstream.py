"""The AWS event-stream binary framing (``application/vnd.amazon.eventstream``).

Every message is a prelude (total length and headers length, big-endian uint32, then the
CRC32 of those 8 bytes), the headers, the payload and the CRC32 of everything before it.
A header is a 1-byte name length, the name, a 1-byte value type (7: string), a 2-byte value
length and the value. botocore checks both CRCs and refuses a stream that fails either.

A frame whose ``event`` ends in ``Exception`` (``throttlingException``) is an exception
message (``:message-type: exception``, ``:exception-type``), as Bedrock sends a mid-stream
failure; any other named frame is an event (``:event-type``). A frame with no event (what a
``malformed`` fault sends) goes out framed with a wrong message CRC, so the client fails on
it the way it fails on a corrupted message.
"""

from __future__ import annotations

import struct
from typing import ClassVar
from zlib import crc32

from mockllm import Frame, Transport

_STRING = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")


def header(name: str, value: str) -> bytes:
    """One string header."""
    raw_name, raw_value = name.encode(), value.encode()
    return (bytes((len(raw_name),)) + raw_name + bytes((_STRING,))
            + struct.pack(">H", len(raw_value)) + raw_value)


def message(headers: bytes, payload: bytes) -> bytes:
    """One whole message: prelude, its CRC, ``headers``, ``payload`` and the message CRC."""
    prelude = _PRELUDE.pack(16 + len(headers) + len(payload), len(headers))
    head = prelude + _CRC.pack(crc32(prelude)) + headers + payload
    return head + _CRC.pack(crc32(head))


_JSON = header(":content-type", "application/json")
_headers_cache: dict[str, bytes] = {}


def headers_for(event: str) -> bytes:
    """The headers of an event (or exception) named ``event``, built once per name."""
    cached = _headers_cache.get(event)
    if cached is None:
        if event.endswith("Exception"):
            cached = (header(":exception-type", event) + _JSON
                      + header(":message-type", "exception"))
        else:
            cached = header(":event-type", event) + _JSON + header(":message-type", "event")
        _headers_cache[event] = cached
    return cached


def encode(frame: Frame) -> bytes:
    if frame.event is None:
        good = message(headers_for("contentBlockDelta"), frame.data)
        return good[:-4] + _CRC.pack(crc32(good[:-4]) ^ 0xFFFFFFFF)
    return message(headers_for(frame.event), frame.data)


class EventStreamTransport(Transport):
    """Frames as AWS event-stream messages (``aws-eventstream``); no terminator: the stream
    ends after ``metadata``."""

    media_type: ClassVar[str] = "application/vnd.amazon.eventstream"

    def encode(self, frame: Frame) -> bytes:
        return encode(frame)
