"""Stored objects (the Responses API's) in a shared state's store: one key per object and a
list of their ids, oldest first, trimmed to the store's size."""

from __future__ import annotations

from typing import TypeVar, cast

from mockllm.state import Store
from mockllm.state.bus import ERRORS, Owner
from mockllm.state.codec import ValueCodec
from mockllm.state.keys import store_order, store_prefix

T = TypeVar("T")


class SharedStore(Store[T]):
    def __init__(self, owner: Owner, name: str, kind: type[T], size: int) -> None:
        self.owner, self.size = owner, size
        self.prefix, self.order = store_prefix(name), store_order(name)
        self.codec = ValueCodec(kind)

    async def put(self, key: str, value: T) -> None:
        aio = self.owner.aio
        try:
            pipe = aio.pipeline(transaction=False)
            pipe.set(self.prefix + key.encode(), self.codec.encode(value))
            pipe.rpush(self.order, key)
            n = (await pipe.execute())[1]
            if n > self.size:
                gone = cast("list[bytes]", await aio.lpop(self.order, n - self.size) or [])
                if gone:
                    await aio.delete(*[self.prefix + g for g in gone])
        except ERRORS as exc:
            self.owner.failed("store", exc)

    async def get(self, key: str) -> T | None:
        try:
            raw = cast("bytes | None", await self.owner.aio.get(self.prefix + key.encode()))
        except ERRORS as exc:
            self.owner.failed("store", exc)
            return None
        return None if raw is None else self.codec.decode(raw)

    async def delete(self, key: str) -> bool:
        try:
            return bool(await self.owner.aio.delete(self.prefix + key.encode()))
        except ERRORS as exc:
            self.owner.failed("store", exc)
            return False
