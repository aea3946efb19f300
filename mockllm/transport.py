"""The transport contract: how an endpoint's frames go out on the wire.

An endpoint renders its answer as :class:`Frame` objects; a transport frames each one (SSE
``data:`` lines, ``event:`` + ``data:`` pairs, NDJSON lines, or one JSON body) and
:class:`mockllm.stream_response.StreamResponse` sends them on the pacing schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.responses import Response

from mockllm.frames import Frame
from mockllm.stream_response import StreamResponse

if TYPE_CHECKING:
    from mockllm.pacing import Pacing

__all__ = ["Frame", "Transport"]


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
        return StreamResponse(self, frames, pacing, status, headers)
