"""Stored objects (the Responses API's) in a shared state's store: one key per object, a
list of their ids, oldest first, and the values' bytes together, so that every process
trims the store to the same count (its size) and bytes (``server.memory.store_bytes``).

Why a byte counter key and not ``MEMORY USAGE``: the embedded store has no such command,
and summing the store's keys on every put would cost a scan. The counter is exact because
each change to it is the size of what one atomic step (``MULTI``/``EXEC``) wrote or deleted:
a put adds its value's length and takes off the length of the value it replaced, a delete
or an eviction takes off the length of the value its ``DEL`` removed (none when ``DEL``
found nothing, so two processes evicting or deleting one id take it off once).
"""

from __future__ import annotations

from typing import Protocol, TypeVar, cast

from mockllm.state import Store
from mockllm.state.bus import ERRORS, Owner
from mockllm.state.codec import ValueCodec
from mockllm.state.keys import store_bytes, store_order, store_prefix

T = TypeVar("T")


class StoreOwner(Owner, Protocol):
    @property
    def store_bytes(self) -> int: ...


class SharedStore(Store[T]):
    def __init__(self, owner: StoreOwner, name: str, kind: type[T], size: int) -> None:
        self.owner, self.size = owner, size
        self.prefix, self.order = store_prefix(name), store_order(name)
        self.total = store_bytes(name)
        self.codec = ValueCodec(kind)

    async def put(self, key: str, value: T) -> None:
        aio = self.owner.aio
        data, k = self.codec.encode(value), self.prefix + key.encode()
        try:
            pipe = aio.pipeline(transaction=True)
            pipe.strlen(k)
            pipe.set(k, data)
            pipe.lrem(self.order, 0, key)  # a put of a known id (Ollama's) moves it last
            pipe.rpush(self.order, key)
            pipe.incrby(self.total, len(data))
            old, _, _, n, total = await pipe.execute()
            if old:
                total = await aio.incrby(self.total, -old)
            await self._trim(int(n), int(total))
        except ERRORS as exc:
            self.owner.failed("store", exc)

    async def _trim(self, n: int, total: int) -> None:
        """Drop the oldest values while the store is over its count or its bytes; the
        newest one stays, however large (as in one process's store)."""
        aio, budget = self.owner.aio, self.owner.store_bytes
        while n > 1 and (n > self.size or total > budget):
            gone = cast("bytes | None", await aio.lpop(self.order))
            if gone is None:
                return
            n -= 1
            removed = await self._remove(self.prefix + gone)
            if removed is not None:
                total = removed

    async def _remove(self, k: bytes, order_key: str | None = None) -> int | None:
        """Delete value ``k`` (and its id from the order list); the store's bytes after,
        or None when the value was not there."""
        pipe = self.owner.aio.pipeline(transaction=True)
        pipe.strlen(k)
        pipe.delete(k)
        if order_key is not None:
            pipe.lrem(self.order, 0, order_key)
        size, deleted = (await pipe.execute())[:2]
        if not deleted:
            return None
        return cast(int, await self.owner.aio.incrby(self.total, -int(size)))

    async def get(self, key: str) -> T | None:
        try:
            raw = cast("bytes | None", await self.owner.aio.get(self.prefix + key.encode()))
        except ERRORS as exc:
            self.owner.failed("store", exc)
            return None
        return None if raw is None else self.codec.decode(raw)

    async def delete(self, key: str) -> bool:
        try:
            return await self._remove(self.prefix + key.encode(), key) is not None
        except ERRORS as exc:
            self.owner.failed("store", exc)
            return False
