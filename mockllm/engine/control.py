"""Per-request control headers: ``x-mockllm-status``, ``-fault`` and ``-rule``.

They override the config for one request (``x-mockllm-latency-ms`` is read by the timing
module). ``server.control_headers: false`` turns them all off. A malformed value is the
client's mistake, answered with 400 in the provider's envelope.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockllm.errors import ApiError
from mockllm.faults import KINDS, Fault

STATUS = "x-mockllm-status"
FAULT = "x-mockllm-fault"
RULE = "x-mockllm-rule"
LATENCY = "x-mockllm-latency-ms"

_KINDS = KINDS


@dataclass(frozen=True, slots=True)
class Control:
    status: int | None = None
    fault: Fault | None = None
    rule: str | None = None


NONE = Control()


def read(headers: dict[str, str], max_seconds: float = float("inf")) -> Control:
    """The control values of ``headers`` (lower-cased names); NONE when there are none.
    A fault may stall at most ``max_seconds`` (``server.limits.control_ms``)."""
    status = headers.get(STATUS)
    fault = headers.get(FAULT)
    rule = headers.get(RULE)
    if status is None and fault is None and rule is None:
        return NONE
    return Control(
        _status(status) if status is not None else None,
        parse_fault(fault, max_seconds) if fault is not None else None,
        rule.strip() if rule is not None else None,
    )


def _status(value: str) -> int:
    value = value.strip()
    if not value.isdigit() or not 400 <= int(value) <= 599:
        raise ApiError(400, f"{STATUS}: expected an error status 400-599, got {value!r}")
    return int(value)


def parse_fault(value: str, max_seconds: float = float("inf")) -> Fault:
    """``KIND[:after=N][,seconds=S][,status=C]`` (``:`` or ``;`` before the options, ``,``
    between)."""
    kind, _, options = value.strip().replace(";", ":", 1).partition(":")
    kind = kind.strip().lower()
    if kind not in _KINDS and "." not in kind:  # a dotted one is a plugin's: the engine checks
        raise ApiError(400, f"{FAULT}: unknown fault {kind!r} (one of {', '.join(_KINDS)}, "
                            "or a plugin's dotted name)")
    after, seconds, status = 0, 0.0, 500
    for option in filter(None, (o.strip() for o in options.split(","))):
        key, sep, raw = option.partition("=")
        try:
            if sep and key.strip() == "after":
                after = int(raw)
            elif sep and key.strip() == "seconds":
                seconds = float(raw)
            elif sep and key.strip() == "status":
                status = int(raw)
            else:
                raise ValueError(option)
            if after < 0 or not 0 <= seconds <= max_seconds or not 400 <= status <= 599:
                raise ValueError(option)
        except ValueError:
            most = "" if max_seconds == float("inf") else f" up to {max_seconds:g}"
            raise ApiError(400, f"{FAULT}: bad option {option!r} (after=N, seconds=S{most}, "
                                "status=400-599)") from None
    return Fault(kind, after, seconds, status)
