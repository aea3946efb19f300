"""Throwaway plugin: fault kinds (mockllm_faults) a rule or x-mockllm-fault can name."""

from __future__ import annotations

from typing import Any

from mockllm import ConfigError, hookimpl


def duplicate(params: Any) -> Any:
    """Every frame from ``after`` on arrives ``times`` times (a proxy that retransmits)."""
    times = (params or {}).get("times", 2)
    if not isinstance(times, int) or times < 1:
        raise ConfigError(f"times must be a whole number of at least 1, got {times!r}")

    def action(data: bytes, index: int) -> bytes:
        return data * times

    return action


def hang_up(params: Any) -> Any:
    """The connection drops at frame ``after``."""
    return lambda data, index: None


def shout(params: Any) -> Any:
    """Upper-cases the text of every frame (bytes in, bytes out; JSON stays JSON)."""
    return lambda data, index: data.replace(b"hello", b"HELLO")


def explode(params: Any) -> Any:
    def action(data: bytes, index: int) -> bytes:
        raise RuntimeError("fault plugin bug")

    return action


@hookimpl
def mockllm_faults() -> dict[str, Any]:
    return {"acme.duplicate": duplicate, "acme.hang_up": hang_up, "acme.shout": shout,
            "acme.explode": explode}
