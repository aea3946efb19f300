"""The transport contract: how an endpoint's frames go out on the wire.

An endpoint renders its answer as :class:`Frame` objects; a transport frames each one (SSE
``data:`` lines, ``event:`` + ``data:`` pairs, NDJSON lines, or one JSON body) and
:class:`mockllm.streaming.StreamResponse` sends them, paced, one ASGI send per frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from starlette.responses import Response

if TYPE_CHECKING:
    from mockllm.streaming import Pacing


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


class Transport:
    """Base class for transports. Subclasses set ``media_type`` and implement ``encode``."""

    media_type: ClassVar[str] = "application/octet-stream"
    #: Bytes sent after the last frame (``data: [DONE]`` for OpenAI SSE).
    terminator: ClassVar[bytes] = b""

    def __init__(self, context: Any) -> None:
        self.context = context

    def encode(self, frame: Frame) -> bytes:
        """The wire bytes of one frame."""
        raise NotImplementedError

    def stream(
        self,
        frames: Iterable[Frame],
        *,
        pacing: Pacing | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A response that sends ``frames`` paced by ``pacing`` (None: as fast as possible)."""
        from mockllm.streaming import StreamResponse

        return StreamResponse(self, frames, pacing, status, headers)

    def single(
        self, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A one-body answer (used by the ``json`` transport and for errors)."""
        return Response(body, status_code=status, headers=headers, media_type=self.media_type)
