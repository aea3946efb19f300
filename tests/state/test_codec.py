"""A store's codec: msgpack for what it can hold, JSON for integers beyond 64 bits."""

from __future__ import annotations

import msgspec

from mockllm.state.codec import ValueCodec


class Item(msgspec.Struct):
    name: str
    data: dict[str, object]


def test_msgpack_when_it_fits_and_json_when_it_does_not() -> None:
    codec = ValueCodec(Item)
    small = Item("a", {"n": 2 ** 63})
    packed = codec.encode(small)
    assert packed == msgspec.msgpack.encode(small)
    assert codec.decode(packed) == small
    big = Item("b", {"n": -(2 ** 80), "s": "{"})
    kept = codec.encode(big)
    assert kept.startswith(b"{")
    assert codec.decode(kept) == big
