"""The changes the admin API makes while the server runs, as data.

A change is applied to the process that received the admin call (``ServerContext.apply_change``)
and then published through the state (:meth:`mockllm.state.State.publish`), so every other
process applies the same change. As data they also travel between processes: one msgpack
encoder and decoder for the tagged union.
"""

from __future__ import annotations

import msgspec

from mockllm.engine.schema import Rule


class AddRules(msgspec.Struct, tag="add_rules"):
    """``POST /_mockllm/rules``: put these ahead of every other rule."""

    rules: list[Rule]


class ClearRules(msgspec.Struct, tag="clear_rules"):
    """``DELETE /_mockllm/rules``."""


class UseImplementation(msgspec.Struct, tag="use"):
    """``POST /_mockllm/plugins/use``; ``plugin=None`` goes back to the start-up choice."""

    kind: str  # "endpoint" or "transport"
    key: str
    plugin: str | None


class ResetCounters(msgspec.Struct, tag="reset_counters"):
    """Every rule's count back to zero (``POST /_mockllm/reset``, between two tests)."""


class Reload(msgspec.Struct, tag="reload"):
    """``POST /_mockllm/reload``: each process reads its own ``--config`` file again."""


class Flush(msgspec.Struct, tag="flush"):
    """Send what is batched now (before a journal read, so it sees every finished request).

    With ``gather`` (an id of one read), each process also leaves its snapshot of ``name``
    (:meth:`mockllm.state.State.share`: its ``/metrics`` counts) under that read's key before
    it confirms, so the reader sums every running process's, and only theirs."""

    name: str = ""
    gather: str = ""


Change = AddRules | ClearRules | UseImplementation | ResetCounters | Reload | Flush

encoder = msgspec.msgpack.Encoder()
decoder = msgspec.msgpack.Decoder(Change)
