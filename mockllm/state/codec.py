"""How a store keeps a value as bytes: msgpack, or JSON for what msgpack cannot hold.

A stored Response carries what the client sent (tool schemas, metadata), and JSON allows
integers of any size where msgpack stops at 64 bits. Such a value is kept as JSON instead of
failing the request. The two never mix up: a stored value is a struct, which msgpack writes
as a map (first byte 0x80-0x8f, 0xde or 0xdf), while JSON writes it starting with ``{``.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


class ValueCodec(Generic[T]):
    def __init__(self, kind: type[T]) -> None:
        self._pack = msgspec.msgpack.Encoder().encode
        self._unpack = msgspec.msgpack.Decoder(kind).decode
        self._json = msgspec.json.Encoder().encode
        self._unjson = msgspec.json.Decoder(kind).decode

    def encode(self, value: T) -> bytes:
        try:
            return self._pack(value)
        except OverflowError:
            return self._json(value)

    def decode(self, data: bytes) -> T:
        return self._unjson(data) if data[:1] == b"{" else self._unpack(data)
