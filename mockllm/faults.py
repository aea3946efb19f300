"""Deliberate failures of an answer, and where one breaks into a stream.

A fault is provider-neutral data the engine puts on a plan (``Plan.fault``); the stream
response acts it out, and the endpoint's provider words an ``error`` fault. A plugin fault
kind (``mockllm_faults``, a dotted name) carries its :data:`FaultAction`, which the stream
response (or, for a whole-body answer, ``FaultyResponse``) applies to the wire bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from mockllm.frames import Frame

FaultKind = Literal["disconnect", "malformed", "stall", "truncate", "error"]

#: The builtin fault kinds; a plugin's (``mockllm_faults``) contain a dot.
KINDS: tuple[str, ...] = ("disconnect", "malformed", "stall", "truncate", "error")

#: A plugin fault's action: ``action(data, index)`` gets the wire bytes of frame ``index``
#: (0-based; a whole-body answer is frame 0) for every frame from the fault's ``after`` on,
#: and returns the bytes to send in its place (``b""`` drops the frame) or ``None`` to drop
#: the connection there, as ``disconnect`` does.
FaultAction = Callable[[bytes, int], "bytes | None"]


@dataclass(frozen=True)
class Fault:
    """A deliberate failure of a stream.

    ``after`` counts frames sent before the fault fires. ``disconnect`` closes the connection
    mid-stream, ``malformed`` sends a frame that is not valid JSON and goes on, ``stall`` waits
    ``seconds`` before going on, ``truncate`` ends the stream cleanly without its final frames
    (finish reason, usage) or terminator. ``error`` is rendered by the endpoint as the API's
    mid-stream error event (``status`` and ``message`` say which error). A plugin kind
    (a dotted name) does what its ``action`` does to each frame from ``after`` on.
    """

    kind: str
    after: int = 0
    seconds: float = 0.0
    status: int = 500
    message: str | None = None
    #: A plugin kind's action (None for the builtin kinds).
    action: FaultAction | None = field(default=None, compare=False)


def cut_at_token(frames: Iterable[Frame], tokens: int) -> list[Frame]:
    """The frames a stream sends before its token frame number ``tokens`` (0-based): where an
    ``error`` fault with ``after: tokens`` breaks in. Closing frames (``final``) never come
    before the error, so an ``after`` past the answer's length breaks in after its last token.
    """
    out: list[Frame] = []
    seen = 0
    for frame in frames:
        if frame.final or (frame.token and seen == tokens):
            break
        seen += frame.token
        out.append(frame)
    return out


#: What a ``malformed`` fault sends in place of a frame: the start of a JSON object, cut.
MALFORMED = b'{"malformed": tr'
