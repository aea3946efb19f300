"""One record per answered request, handed to every observer (journal, metrics).

Filled as the request goes: the route sets the key, ``Endpoint.plan`` the model, rule and
tokens, the response its status and times. Observers run after the last byte is sent.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

SCOPE_KEY = "mockllm.observation"
#: Scope key of the ``time.monotonic()`` reading at which the server began reading the
#: request (mockllm's own HTTP layer sets it; under uvicorn it is absent and the request is
#: timed from when the app first sees it).
ARRIVED_KEY = "mockllm.arrived"


class Observation(msgspec.Struct, gc=False):
    """``gc=False``: only scalars and bytes, so no cycle can go through one, and the journal's
    thousand kept ones are not walked by every garbage collection."""

    endpoint: str
    start: float
    model: str | None = None
    rule: str | None = None
    status: int = 200
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stream: bool = False
    first_token: float | None = None
    end: float | None = None
    body: bytes = b""
    #: The client went away before its answer was ready (the wait was cancelled).
    disconnected: bool = False

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.start

    @property
    def total(self) -> float | None:
        return None if self.end is None else self.end - self.start


Observer = Callable[[Observation], None]
