"""What the server keeps of a stored response, for ``GET``/``DELETE /v1/responses/{id}``
and ``previous_response_id``. The store itself is the server state's (``mockllm.state``):
this process's, or shared by every worker and host."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockllm import ApiError
from mockllm.engine import Message

from .responses_schema import ResponseObject

#: How many responses the store keeps; the oldest is dropped first.
STORE_SIZE = 1000


@dataclass
class Stored:
    response: ResponseObject
    #: Every turn up to and including this response's output (instructions excluded: the
    #: API does not carry them over to the next response).
    conversation: list[Message] = field(default_factory=list)


def not_found(rid: str, param: str = "response_id") -> ApiError:
    return ApiError(404, f"Response with id '{rid}' not found.", param=param)
