"""A state every process shares: ``--workers N`` (the embedded store, over a unix socket) or
``server: {state: "redis://HOST:PORT/DB"}`` (several hosts). Both speak the Redis protocol,
so this one module, on the ``redis`` client, serves both.

What costs a round trip on the request path: only a count an answer depends on (a
sequence step, ``times``, ``{counter}``), made with a blocking call because
``Endpoint.plan`` is synchronous (on a unix socket or a LAN that is a fraction of a
millisecond). Journal entries and other counts are batched and sent by one task per
process; stored objects are one round trip where the Responses API awaits anyway. Changes
(runtime rules, switches, reloads) are pushed to every process; a reader that must see
every finished request (a journal read) first asks every process to flush its batch.

When the store goes away mid-run, requests are still answered (counts fall back to this
process's, journal batches are dropped); each failure is logged (once per second and
operation) and counted in ``/metrics``. Being unreachable at start-up is a
:class:`StateError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any, TypeVar, cast

import msgspec
import redis
import redis.asyncio as aioredis

from mockllm.bytecache import JOURNAL_BODY_BYTES, STORE_BYTES
from mockllm.engine.counters import RuleCounter
from mockllm.journal import Entry, Journal
from mockllm.observe import Observation
from mockllm.state import Applier, State, StateError, Store
from mockllm.state import bodies as bodies_
from mockllm.state import changes as ch
from mockllm.state.bus import ERRORS, RETRY_AFTER, ChangeBus
from mockllm.state.keys import COUNTS, JOURNAL, JOURNAL_BODIES, gather_key
from mockllm.state.link import Link
from mockllm.state.memory import QuotaCounts
from mockllm.state.objects import SharedStore
from mockllm.state.resp import pack

log = logging.getLogger("mockllm.state")
#: Seconds journal entries and batched counts wait to be sent together. Nothing needs them
#: sooner: a journal read and ``GET /_mockllm/rules`` first ask every process to flush (a
#: ``Flush`` change), and a stop drains. Each batch costs the worker and the store a
#: wake-up and a fixed share of Python whatever its size, so at 20 ms (the old value) the
#: store's thread spent ~3 times the CPU per request it spends at 100 ms.
BATCH_S = 0.1
T = TypeVar("T")



_entry_dec = msgspec.msgpack.Decoder(Entry)


class SharedCounter(RuleCounter):
    """``uses`` is the last count this process saw; the store has the real one."""

    __slots__ = ("field", "owner")

    def __init__(self, owner: SharedState, field: bytes) -> None:
        super().__init__()
        self.owner, self.field = owner, field

    def take(self, limit: int | None, exact: bool) -> int | None:
        if not exact:
            self.uses += 1
            self.owner.count_later(self.field, 1)
            return self.uses - 1
        n = self.owner.count_now(self.field)
        if n is None:  # the store is unreachable: count here rather than fail the request
            return super().take(limit, exact)
        if limit is not None and n > limit:
            self.uses = limit
            self.owner.count_later(self.field, -1)  # keep the stored count at the limit
            return None
        self.uses = n
        return n - 1


class SharedState(State):
    shared = True

    def __init__(self, url: str, journal_size: int, describe: str) -> None:
        self.url, self.describe = url, describe
        self.local_journal = Journal(size=0)
        self._journal_size = journal_size
        self._opts: dict[str, Any] = dict(protocol=2, socket_timeout=2.0,
                                          socket_connect_timeout=2.0)
        self._sync = redis.Redis.from_url(url, **self._opts)
        # The request path's exact counts: packed once per counter, no client library.
        self._link = Link(self._sync.connection_pool)
        self._incr: dict[bytes, bytes] = {}
        self._aio: aioredis.Redis | None = None
        self._counters: dict[bytes, SharedCounter] = {}
        self._later: dict[bytes, int] = {}
        self._entries: list[Observation] = []
        self._flushing: asyncio.Task[None] | None = None
        self._scheduled: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = 0.0
        self._logged: dict[str, float] = {}
        self.errors: dict[str, int] = {}
        self.dropped = 0
        self.bus = ChangeBus(self)
        self._local_quotas = QuotaCounts()
        #: ``server.memory``'s budgets, applied by the store's own lists (objects.py and
        #: the journal's bodies below) so they hold across every process.
        self.store_bytes = STORE_BYTES
        self.journal_body_bytes = JOURNAL_BODY_BYTES
        self._bodies = bodies_.Bodies()

    def check(self) -> None:
        """Raise :class:`StateError` unless the store answers (start-up, in the CLI)."""
        try:
            self._sync.ping()
        except ERRORS as exc:
            raise StateError(f"server.state {self.describe}: cannot reach the store: {exc}"
                             ) from None

    @property
    def aio(self) -> aioredis.Redis:
        if self._aio is None:
            raise StateError("the shared state is used before the server started")
        return self._aio

    def failed(self, op: str, exc: BaseException) -> None:
        self.errors[op] = self.errors.get(op, 0) + 1
        now = time.monotonic()
        if now - self._logged.get(op, -2.0) >= 1.0:  # a dead store must not flood the log
            self._logged[op] = now
            log.error("shared state %s: %s failed: %s", self.describe, op, exc)

    def stats(self) -> dict[str, Any]:
        return {"errors": dict(self.errors), "journal_dropped": self.dropped}

    # -- counters ---------------------------------------------------------------------

    def counter(self, key: bytes) -> RuleCounter:
        c = self._counters.get(key)
        if c is None:
            field = hashlib.blake2b(key, digest_size=12).hexdigest().encode()
            c = self._counters[key] = SharedCounter(self, field)
        return c

    def retain(self, keys: Iterable[bytes]) -> None:
        keep = set(keys)
        gone = [c.field for k, c in self._counters.items() if k not in keep]
        self._counters = {k: v for k, v in self._counters.items() if k in keep}
        if gone and self._loop is not None:
            # A rule that changed or went away starts over (as in one process).
            self._loop.create_task(self._forget(gone))

    async def _forget(self, fields: list[bytes]) -> None:
        try:
            await self.aio.hdel(COUNTS, *fields)
        except ERRORS as exc:
            self.failed("counter", exc)

    def reset_counters(self) -> None:
        # Here only: publishing the ResetCounters change empties the stored counts.
        for c in self._counters.values():
            c.uses = 0
        self._later.clear()

    def count_now(self, field: bytes) -> int | None:
        if self._down_until and time.monotonic() < self._down_until:
            return None
        packed = self._incr.get(field)
        if packed is None:
            packed = self._incr[field] = pack(b"HINCRBY", COUNTS, field, b"1")
        try:
            n = self._link.call(packed, 1)[0]
            if not isinstance(n, int):
                raise redis.ResponseError(f"HINCRBY answered {n!r}")
        except ERRORS as exc:
            self._down_until = time.monotonic() + RETRY_AFTER  # counts stay local until then
            self.failed("counter", exc)
            return None
        self._down_until = 0.0
        return n

    def count_later(self, field: bytes, n: int) -> None:
        self._later[field] = self._later.get(field, 0) + n
        self._kick()

    def quota_add(self, key: str, window: int, requests: int, tokens: int) -> tuple[int, int]:
        """One atomic round trip (a quota is exact or useless); while the store is away,
        this process's own counts."""
        if not (self._down_until and time.monotonic() < self._down_until):
            name = f"mockllm:quota:{key}:{window}".encode()
            # MULTI, the three commands, EXEC in one write: the replies are OK, three
            # QUEUED, then EXEC's array (the same transaction redis-py's pipeline sent).
            packed = b"".join((
                pack(b"MULTI"), pack(b"HINCRBY", name, b"r", b"%d" % requests),
                pack(b"HINCRBY", name, b"t", b"%d" % tokens),
                pack(b"PEXPIRE", name, b"%d" % (2 * 60_000)), pack(b"EXEC")))
            try:
                replies = self._link.call(packed, 5)
                done = replies[4]
                if not isinstance(done, list) or not all(isinstance(v, int) for v in done):
                    raise redis.ResponseError(f"the quota transaction failed: {replies!r}")
                self._down_until = 0.0
                return int(done[0]), int(done[1])
            except ERRORS as exc:
                self._down_until = time.monotonic() + RETRY_AFTER
                self.failed("quota", exc)
        return self._local_quotas.add(key, window, requests, tokens)

    async def uses(self, counters: list[RuleCounter]) -> list[int]:
        await self.publish(ch.Flush())
        if not counters:
            return []
        fields = [c.field for c in counters if isinstance(c, SharedCounter)]
        values = await self.aio.hmget(COUNTS, fields)
        return [int(v or 0) for v in values]

    # -- journal ----------------------------------------------------------------------

    def record(self, obs: Observation) -> None:
        self._entries.append(obs)
        if self._scheduled is None and self._flushing is None:
            self._kick()

    def _kick(self) -> None:
        # One batch per BATCH_S at most: a send costs the same for 1 entry or 100, and a
        # reader that must see everything asks for a flush first (drain).
        if self._scheduled is None and self._flushing is None and self._loop is not None:
            self._scheduled = self._loop.call_later(BATCH_S, self._start_flush)

    def _start_flush(self) -> None:
        self._scheduled = None
        if self._flushing is None and self._loop is not None:
            self._flushing = self._loop.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            if self._entries or self._later:
                await self._send_batch()
        finally:
            self._flushing = None
        # What came in during the send waits for the next batch (sending it at once, as
        # before, made every batch two: one full, one of what arrived in its round trip).
        if self._entries or self._later:
            self._kick()

    async def _send_batch(self) -> None:
        entries, self._entries = self._entries, []
        later, self._later = self._later, {}
        # Packed here, in one buffer, and sent without redis-py's pipeline: its per-argument
        # packing and per-reply parsing were most of a batch's cost in the worker.
        parts: list[bytes] = []
        replies, bodies = 0, cast("list[bytes]", [])
        if entries:
            part, replies, bodies = bodies_.batch(entries, self._journal_size)
            parts.append(part)
        counts = [pack(b"HINCRBY", COUNTS, field, b"%d" % n) for field, n in later.items() if n]
        if not parts and not counts:
            return
        try:
            got = await self._send_packed(b"".join(parts + counts), replies + len(counts))
        except ERRORS as exc:
            self.dropped += len(entries)
            self.failed("journal", exc)
            return
        if entries:
            try:  # the entries are in; a failed trim leaves its excess to the next batch
                await self._bodies.trim(self._send_packed, got[replies - 1], bodies,
                                        self._journal_size, self.journal_body_bytes)
            except ERRORS as exc:
                self.failed("journal", exc)

    async def _send_packed(self, packed: bytes, replies: int) -> list[Any]:
        """Send packed commands on a pooled connection and read their replies (an error
        reply, also one inside an EXEC's array, raises; any failure drops the connection,
        so no reply is left unread)."""
        pool = self.aio.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        out: list[Any] = []
        try:
            await conn.send_packed_command(packed)
            for _ in range(replies):
                reply = await conn.read_response()
                if isinstance(reply, redis.ResponseError):
                    raise reply
                if isinstance(reply, list):
                    for r in reply:
                        if isinstance(r, redis.ResponseError):
                            raise r
                out.append(reply)
        except BaseException:
            await conn.disconnect()
            raise
        finally:
            await pool.release(conn)
        return out

    async def drain(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        while self._flushing is not None:
            await asyncio.shield(self._flushing)
        if self._entries or self._later:
            await self._send_batch()

    async def journal(
        self, rule: str | None = None, model: str | None = None, limit: int | None = None,
        endpoint: str | None = None,
    ) -> list[Entry]:
        await self.publish(ch.Flush())
        pipe = self.aio.pipeline(transaction=True)  # entries and bodies of one moment
        pipe.lrange(JOURNAL, 0, -1)
        pipe.lrange(JOURNAL_BODIES, 0, -1)
        raw, bodies = await pipe.execute()
        out = [e for e in bodies_.join(raw, bodies, _entry_dec.decode)
               if (rule is None or e.rule == rule) and (model is None or e.model == model)
               and (endpoint is None or e.endpoint == endpoint)]
        return out[-limit:] if limit else out

    async def clear_journal(self) -> None:
        await self.publish(ch.Flush())
        await bodies_.clear(self._send_packed)

    def resize_journal(self, size: int) -> None:
        self._journal_size = size

    def store(self, name: str, kind: type[T], size: int) -> Store[T]:
        return SharedStore(self, name, kind, size)

    def budget(self, store_bytes: int, journal_body_bytes: int) -> None:
        # Read by every put and journal batch: the next one trims to the new budget.
        self.store_bytes, self.journal_body_bytes = store_bytes, journal_body_bytes

    # -- snapshots --------------------------------------------------------------------

    async def contribute(self, change: ch.Flush) -> None:
        """Leave this process's snapshot for the read ``change`` asks for (before the ack)."""
        data = self.snapshot(change.name)
        if data is None:
            return
        key = gather_key(change.name, change.gather)
        try:  # the key expires if its reader never comes back for it
            await self._send_packed(pack(b"HSET", key, self.bus.id.encode(), data)
                                    + pack(b"PEXPIRE", key, b"60000"), 2)
        except ERRORS as exc:
            self.failed("gather", exc)

    async def gather(self, name: str) -> list[bytes]:
        """Every running process's snapshot of ``name``: each leaves it under a key of this
        read's own before it confirms the ``Flush``, so a process that died (its old
        snapshot) or a concurrent read is never mixed in. An unreachable store is a
        :class:`StateError`."""
        read = uuid.uuid4().hex
        await self.publish(ch.Flush(name=name, gather=read))
        key = gather_key(name, read)
        try:
            values = cast("dict[bytes, bytes]", await self.aio.hgetall(key))
            await self.aio.delete(key)
        except ERRORS as exc:
            self.failed("gather", exc)
            raise StateError(f"shared state {self.describe} unreachable: {exc}") from None
        return list(values.values())

    # -- changes ----------------------------------------------------------------------

    async def publish(self, change: ch.Change) -> None:
        """Make ``change`` hold in every process (:mod:`mockllm.state.bus`); an
        unreachable store is a :class:`StateError`."""
        try:
            await self.bus.publish(change)
        except ERRORS as exc:
            self.failed("publish", exc)
            raise StateError(f"shared state {self.describe} unreachable: {exc}") from None

    async def start(self, apply: Applier) -> None:
        """Connect, subscribe, then apply what was published before this process started."""
        self._loop = asyncio.get_running_loop()
        self._aio = aioredis.Redis.from_url(self.url, **self._opts)
        await self.bus.start(apply)

    async def stop(self) -> None:
        with contextlib.suppress(*ERRORS):
            await self.drain()
        await self.bus.stop()
        if self._aio is not None:
            await self._aio.aclose()
        self._link.close()
        self._sync.close()

