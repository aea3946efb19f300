"""A transport and frames small enough to read in an assertion, for the pacing tests."""

from __future__ import annotations

from typing import Any

from mockllm.transport import Frame, Transport


class Ctx:
    """The server context as a stream sees it: it only hands over observations."""

    def __init__(self) -> None:
        self.observed: list[Any] = []

    def observe(self, obs: Any) -> None:
        self.observed.append(obs)


class Raw(Transport):
    """Each frame is its data and a ``|``; the stream ends with ``END|``."""

    terminator = b"END|"

    def encode(self, frame: Frame) -> bytes:
        return frame.data + b"|"


def frames(tokens: int) -> list[Frame]:
    """A role frame, ``tokens`` token frames t0, t1... and a final usage frame."""
    out = [Frame(None, b"role")]
    out += [Frame(None, b"t%d" % i, token=True) for i in range(tokens)]
    out.append(Frame(None, b"usage", final=True))
    return out
