"""The shared journal's request bodies, bounded by ``server.memory.journal_body_bytes`` in
the store itself, so the bound holds across every process.

As in one process (``mockllm.journal``), the bytes budget bounds the bodies only: past it
the oldest entries lose their body and stay in the journal. So the entries
(:data:`~mockllm.state.keys.JOURNAL`, trimmed by count) and their bodies
(:data:`~mockllm.state.keys.JOURNAL_BODIES`) are two lists pushed in one transaction;
a body belongs to the entry as far from the newest as it is, and trimming bodies takes
them off the front. :data:`~mockllm.state.keys.JOURNAL_BYTES` counts their bytes: added in
the batch's transaction, subtracted only by whoever ``LPOP``-ed the bodies (exactly one
process gets each), so concurrent processes cannot count a body twice or go negative.

A batch costs nothing more while the bodies are within their count and bytes; past them,
its process takes off about what the batch added (a share: each process trimming the whole
excess it saw dropped the bodies other processes were trimming too) in two round trips
per round (LPOP, then DECRBY): per batch, not per request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from mockllm.journal import BODY_LIMIT, Entry, Journal
from mockllm.observe import Observation
from mockllm.state.keys import JOURNAL, JOURNAL_BODIES, JOURNAL_BYTES
from mockllm.state.resp import pack, pack_many

#: Send packed commands, return their replies (``SharedState._send_packed``).
Send = Callable[[bytes, int], Awaitable[list[Any]]]
ROUNDS = 8
_encode = msgspec.msgpack.Encoder().encode


def batch(observed: list[Observation], size: int) -> tuple[bytes, int, list[bytes]]:
    """The transaction of one journal batch, how many replies it gets (its EXEC's array is
    ``[n, n, bytes, OK, bodies listed]``) and the bodies it adds."""
    offset = time.time() - time.monotonic()
    entries, bodies = [], []
    for obs in observed:
        if len(obs.body) > BODY_LIMIT:
            obs.body = obs.body[:BODY_LIMIT]
        entry = Journal.entry(offset + (obs.end if obs.end is not None else obs.start), obs)
        entry.body = ""  # beside the entries, bounded by bytes
        entries.append(_encode(entry))
        bodies.append(obs.body)
    packed = b"".join((
        pack(b"MULTI"), pack_many(b"RPUSH", JOURNAL, entries),
        pack_many(b"RPUSH", JOURNAL_BODIES, bodies),
        pack(b"INCRBY", JOURNAL_BYTES, b"%d" % sum(map(len, bodies))),
        pack(b"LTRIM", JOURNAL, b"%d" % -size, b"-1"),
        pack(b"LLEN", JOURNAL_BODIES), pack(b"EXEC")))
    return packed, 7, bodies


class Bodies:
    """Trims the bodies after a batch; the budget and the entry count are the caller's."""

    def __init__(self) -> None:
        #: The budget this process's last trim completed for (-1: none yet, or failed):
        #: until then it takes off the whole excess (what a failure or a smaller budget
        #: left), not only its share.
        self.trimmed = -1

    async def trim(self, send: Send, done: list[Any], added: list[bytes], size: int,
                   budget: int) -> None:
        total, listed = int(done[2]), int(done[4])
        want_count, want_bytes = listed - size, total - budget
        if self.trimmed == budget:
            want_count = min(want_count, len(added))
            want_bytes = min(want_bytes, sum(map(len, added)))
        self.trimmed = -1
        per = BODY_LIMIT  # what a body may hold: popping want/per never drops too many
        for _ in range(ROUNDS):
            if want_count <= 0 and want_bytes <= 0:
                break
            k = max(want_count, -(-want_bytes // per), 1)
            gone = (await send(pack(b"LPOP", JOURNAL_BODIES, b"%d" % k), 1))[0] or []
            if not gone:
                break
            dropped = sum(map(len, gone))
            replies = await send(pack(b"DECRBY", JOURNAL_BYTES, b"%d" % dropped)
                                 + pack(b"LLEN", JOURNAL_BODIES), 2)
            total, listed = int(replies[0]), int(replies[1])
            want_count = min(want_count - len(gone), listed - size)
            want_bytes = min(want_bytes - dropped, total - budget)
            per = max(dropped // len(gone), 1)  # the next round's guess: these bodies' size
        self.trimmed = budget


async def clear(send: Send) -> None:
    """Empty the journal: the bodies are taken off as a trim takes them, so the counter
    goes down by exactly what was there (a trim in flight elsewhere still subtracts only
    what it popped)."""
    done = (await send(pack(b"MULTI") + pack(b"DEL", JOURNAL)
                       + pack(b"LRANGE", JOURNAL_BODIES, b"0", b"-1")
                       + pack(b"DEL", JOURNAL_BODIES) + pack(b"EXEC"), 5))[-1]
    dropped = sum(map(len, done[1]))
    if dropped:
        await send(pack(b"DECRBY", JOURNAL_BYTES, b"%d" % dropped), 1)


def join(raw: list[bytes], bodies: list[bytes], decode: Callable[[bytes], Entry]
         ) -> list[Entry]:
    """The entries, each with its body (counted from the newest), oldest first."""
    out = [decode(r) for r in raw]
    for e, body in zip(reversed(out), reversed(bodies), strict=False):
        e.body = body.decode("utf-8", errors="replace")
    return out
