"""A frame: one event of a rendered answer, already encoded, before a transport frames it."""

from __future__ import annotations

from typing import NamedTuple


class Frame(NamedTuple):
    """One event of a rendered answer.

    ``token`` marks a frame that carries a generated token: token frames are released on the
    timing schedule (the first at TTFT, then one ITL apart); other frames go out with the next
    token frame, or straight after the last one. ``final`` marks the frames that close the
    answer (finish reason, usage), which a ``truncate`` fault drops.
    """

    event: str | None
    data: bytes
    token: bool = False
    final: bool = False
