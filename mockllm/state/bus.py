"""Changes pushed to every process that shares a store, each one confirmed.

A change an admin call made (``mockllm.state.changes``) is written to the store where a
process that starts later finds it (runtime rules, switches; each write numbered by
``mockllm:version``), then published on ``mockllm:changes``. Every other process applies it
and answers on the publisher's own ack channel; :meth:`ChangeBus.publish` returns when all
of them did, so the next request holds the change wherever it lands. A process that starts
subscribes first, then reads what was written, and skips messages already included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Protocol

import msgspec
import redis

from mockllm.state import Applier
from mockllm.state import changes as ch
from mockllm.state.keys import CHANGES, COUNTS, RULES, SWITCHES, VERSION

log = logging.getLogger("mockllm.state")

#: Seconds a change waits for every process to say it applied it.
ACK_TIMEOUT = 10.0
#: Seconds between two tries to subscribe again after the store went away.
RETRY_AFTER = 1.0
ERRORS = (redis.RedisError, OSError)


class _Message(msgspec.Struct, array_like=True):
    origin: str
    id: str
    version: int
    change: ch.Change


_msg_dec = msgspec.msgpack.Decoder(_Message)


class Owner(Protocol):
    """What the bus needs of the shared state."""

    @property
    def aio(self) -> Any: ...

    def failed(self, op: str, exc: BaseException) -> None: ...

    async def drain(self) -> None: ...

    async def contribute(self, change: ch.Flush) -> None: ...


class ChangeBus:
    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.id = uuid.uuid4().hex
        self._acks: dict[str, tuple[list[int], asyncio.Future[None]]] = {}
        self._version = 0
        self._apply: Applier | None = None
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._subscribed = asyncio.Event()

    async def publish(self, change: ch.Change) -> None:
        """Store ``change`` for processes that start later, push it to the running ones
        and wait until each applied it (store errors are the caller's)."""
        aio = self.owner.aio
        version = 0
        pipe = aio.pipeline(transaction=True)
        if isinstance(change, ch.AddRules):
            pipe.rpush(RULES, ch.encoder.encode(change))
        elif isinstance(change, ch.ClearRules):
            pipe.delete(RULES)
        elif isinstance(change, ch.ResetCounters):
            pipe.delete(COUNTS)
        elif isinstance(change, ch.UseImplementation):
            field = f"{change.kind}\0{change.key}"
            if change.plugin is None:
                pipe.hdel(SWITCHES, field)
            else:
                pipe.hset(SWITCHES, field, change.plugin)
        if len(pipe):
            pipe.incrby(VERSION, 1)
            version = int((await pipe.execute())[-1])
            self._version = max(self._version, version)
        elif isinstance(change, ch.Flush):
            await self.owner.drain()
            if change.gather:
                await self.owner.contribute(change)
        mid = uuid.uuid4().hex
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = [0]
        self._acks[mid] = (waiting, done)
        try:
            message = ch.encoder.encode(_Message(self.id, mid, version, change))
            others = int(await aio.publish(CHANGES, message)) - 1  # this process hears it too
            waiting[0] += others
            if waiting[0] <= 0:
                return
            try:
                await asyncio.wait_for(asyncio.shield(done), ACK_TIMEOUT)
            except TimeoutError:
                log.warning("shared state: %d process(es) did not confirm %s within %.0f s",
                            waiting[0], type(change).__name__, ACK_TIMEOUT)
        finally:
            del self._acks[mid]

    def _acked(self, mid: str) -> None:
        entry = self._acks.get(mid)
        if entry is None:
            return
        waiting, done = entry
        waiting[0] -= 1
        if waiting[0] <= 0 and not done.done():
            done.set_result(None)

    async def _listen(self) -> None:
        ack_channel = b"mockllm:ack:" + self.id.encode()
        while True:
            pubsub = self.owner.aio.pubsub()
            try:
                await pubsub.subscribe(CHANGES, ack_channel)
                self._subscribed.set()
                async for m in pubsub.listen():
                    if m["type"] != "message":
                        continue
                    if m["channel"] == ack_channel:
                        self._acked(m["data"].decode())
                    else:
                        await self._ready.wait()
                        await self._received(_msg_dec.decode(m["data"]))
            except asyncio.CancelledError:
                raise
            except ERRORS as exc:
                self.owner.failed("subscribe", exc)
                await asyncio.sleep(RETRY_AFTER)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _received(self, msg: _Message) -> None:
        if msg.origin == self.id:
            return
        if msg.version == 0 or msg.version > self._version:
            self._version = max(self._version, msg.version)
            if isinstance(msg.change, ch.Flush):
                await self.owner.drain()
                if msg.change.gather:
                    await self.owner.contribute(msg.change)
            else:
                await self._run(msg.change)
        try:
            await self.owner.aio.publish(b"mockllm:ack:" + msg.origin.encode(), msg.id)
        except ERRORS as exc:
            self.owner.failed("publish", exc)

    async def _run(self, change: ch.Change) -> None:
        assert self._apply is not None
        try:
            result = self._apply(change)
            if result is not None:
                await result
        except Exception as exc:  # one process's trouble (a plugin it lacks) is logged here
            log.error("shared state: could not apply %s here: %s", type(change).__name__, exc)

    async def start(self, apply: Applier) -> None:
        """Subscribe, then apply what was published before this process started."""
        self._apply = apply
        self._listener = asyncio.get_running_loop().create_task(self._listen(),
                                                                name="mockllm-state")
        await asyncio.wait_for(self._subscribed.wait(), ACK_TIMEOUT)
        pipe = self.owner.aio.pipeline(transaction=True)
        pipe.get(VERSION)
        pipe.lrange(RULES, 0, -1)
        pipe.hgetall(SWITCHES)
        version, rules, switches = await pipe.execute()
        self._version = int(version or 0)
        for raw in rules:
            await self._run(ch.decoder.decode(raw))
        for field, plugin in switches.items():
            kind, _, key = field.decode().partition("\0")
            await self._run(ch.UseImplementation(kind, key, plugin.decode()))
        self._ready.set()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
