"""Stored objects (the Responses API's) in a shared state's store: one key per object, a
list of ``SIZE ID`` elements, oldest first, and a counter of the bytes the list accounts
for. The store itself holds the bound, so it holds across every process.

Bounded by count (the store's size) and by bytes (``server.memory.store_bytes``, each
value's encoded length plus :data:`~mockllm.bytecache.ENTRY_OVERHEAD`, as the memory
home counts it). The rule that keeps the counter exact without a script: a value's bytes
are added in the same transaction that lists it, and only whoever takes its element off
the list (an ``LPOP`` or ``LREM``, each atomic: exactly one process wins) subtracts them.
So concurrent processes cannot count a value twice or drive the counter negative; two
that trim at once can only drop a little more than needed, never keep more.
"""

from __future__ import annotations

from typing import TypeVar, cast

from mockllm.bytecache import ENTRY_OVERHEAD, STORE_BYTES
from mockllm.state import Store
from mockllm.state.bus import ERRORS, Owner
from mockllm.state.codec import ValueCodec
from mockllm.state.keys import store_bytes, store_order, store_prefix

T = TypeVar("T")
#: Oldest elements read with each put, to plan a trim without another read.
FRONT = 16
#: Trim rounds at most per put (each drops at least one element).
ROUNDS = 64


def _size(element: bytes) -> int:
    """The bytes an order element accounts for (0 for an id listed before sizes were)."""
    size, _, rest = element.partition(b" ")
    return int(size) if rest and size.isdigit() else 0


def _id(element: bytes) -> bytes:
    size, _, rest = element.partition(b" ")
    return rest if rest and size.isdigit() else element


class SharedStore(Store[T]):
    def __init__(self, owner: Owner, name: str, kind: type[T], size: int) -> None:
        self.owner, self.size = owner, size
        self.prefix, self.order = store_prefix(name), store_order(name)
        self.bytes_key = store_bytes(name)
        self.codec = ValueCodec(kind)
        #: The budget this process's last trim completed for (-1: none yet, or it failed).
        self._trimmed = -1

    @property
    def max_bytes(self) -> int:
        return int(getattr(self.owner, "store_bytes", STORE_BYTES))

    async def put(self, key: str, value: T) -> None:
        data = self.codec.encode(value)
        cost = len(data) + ENTRY_OVERHEAD
        if cost > self.max_bytes:
            # As in one process: a value larger than the whole budget is not kept (an
            # older one under the same key goes too).
            await self.delete(key)
            return
        name = self.prefix + key.encode()
        aio = self.owner.aio
        try:
            pipe = aio.pipeline(transaction=True)
            pipe.strlen(name)
            pipe.set(name, data)
            pipe.rpush(self.order, b"%d %s" % (cost, key.encode()))
            pipe.incrby(self.bytes_key, cost)
            pipe.lrange(self.order, 0, FRONT - 1)
            old, _, n, total, front = await pipe.execute()
            if old:  # a new value under a listed key: the old element goes
                await self._unlist(b"%d %s" % (old + ENTRY_OVERHEAD, key.encode()))
            await self._trim(cost, n, total, front)
        except ERRORS as exc:
            self._trimmed = -1  # what this put left over: the next one takes it off
            self.owner.failed("store", exc)

    async def _trim(self, cost: int, n: int, total: int, front: list[bytes]) -> None:
        """Drop the oldest values for this put's share of the excess.

        A put takes off about what it added (its bytes, one value by count): several
        processes putting at once each see the others' new values too, and each taking
        the whole excess dropped several times what was needed (2 of 15 fitting values
        left after 80 puts from 8 threads; with shares, 8 to 15: a value's worth at most
        per concurrent put). The whole excess is taken by this process's first put, after
        a failure and after a budget change, so what they left over drains."""
        aio = self.owner.aio
        budget = self.max_bytes
        want_bytes, want_count = total - budget, n - self.size
        if self._trimmed == budget:
            want_bytes, want_count = min(want_bytes, cost), min(want_count, 1)
        for _ in range(ROUNDS):
            if want_bytes <= 0 and want_count <= 0:
                break
            k, got = 0, 0
            for element in front[:max(n - 1, 0)]:  # the newest stays
                if got >= want_bytes and k >= want_count:
                    break
                k, got = k + 1, got + _size(element)
            if k == 0:
                break
            gone = cast("list[bytes]", await aio.lpop(self.order, k) or [])
            if not gone:
                break
            dropped = sum(map(_size, gone))
            pipe = aio.pipeline(transaction=True)
            pipe.delete(*[self.prefix + _id(g) for g in gone])
            pipe.decrby(self.bytes_key, dropped)
            pipe.llen(self.order)
            pipe.lrange(self.order, 0, FRONT - 1)
            _, total, n, front = await pipe.execute()
            want_bytes = min(want_bytes - dropped, total - budget)
            want_count = min(want_count - len(gone), n - self.size)
        self._trimmed = budget

    async def _unlist(self, element: bytes) -> None:
        if await self.owner.aio.lrem(self.order, 1, element):
            await self.owner.aio.decrby(self.bytes_key, _size(element))

    async def get(self, key: str) -> T | None:
        try:
            raw = cast("bytes | None", await self.owner.aio.get(self.prefix + key.encode()))
        except ERRORS as exc:
            self.owner.failed("store", exc)
            return None
        return None if raw is None else self.codec.decode(raw)

    async def delete(self, key: str) -> bool:
        name = self.prefix + key.encode()
        try:
            pipe = self.owner.aio.pipeline(transaction=True)
            pipe.strlen(name)
            pipe.delete(name)
            size, deleted = await pipe.execute()
            if deleted:
                await self._unlist(b"%d %s" % (size + ENTRY_OVERHEAD, key.encode()))
            return bool(deleted)
        except ERRORS as exc:
            self.owner.failed("store", exc)
            return False
