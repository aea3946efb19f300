"""Keeping the shared journal within ``server.journal_size`` entries and
``server.memory.journal_body_bytes`` bytes, in the shared store itself.

Every process pushes its entries with an ``INCRBY`` of their bytes in the same batch, and
takes off the bytes of exactly what it pops, so the total is exact across processes
(``LTRIM``, which the count alone used, does not say what it removed).
"""

from __future__ import annotations

from typing import Any, cast

from mockllm.state.keys import JOURNAL, JOURNAL_BYTES


async def trim_journal(aio: Any, n: int, total: int, size: int, budget: int) -> None:
    """Pop the oldest entries while the journal (``n`` entries, ``total`` bytes after this
    process's push) is over ``size`` entries or ``budget`` bytes; the newest one stays.
    Past the bytes, as many are popped at once as the mean entry size says."""
    while n > 1 and (n > size or total > budget):
        over = n - size
        if total > budget:
            over = max(over, -(-(total - budget) * n // total))
        popped = cast("list[bytes] | None", await aio.lpop(JOURNAL, min(max(over, 1), n - 1)))
        if not popped:
            return
        n -= len(popped)
        total = int(await aio.incrby(JOURNAL_BYTES, -sum(map(len, popped))))
