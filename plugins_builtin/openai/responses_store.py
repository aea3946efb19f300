"""The bounded in-memory store behind ``GET``/``DELETE /v1/responses/{id}`` and
``previous_response_id``."""

from __future__ import annotations

from collections import OrderedDict
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


class ResponseStore:
    """A bounded, insertion-ordered store of responses by id."""

    def __init__(self, size: int = STORE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, Stored] = OrderedDict()

    def put(self, stored: Stored) -> None:
        self._items[stored.response.id] = stored
        self._items.move_to_end(stored.response.id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, rid: str) -> Stored | None:
        return self._items.get(rid)

    def delete(self, rid: str) -> bool:
        return self._items.pop(rid, None) is not None


def not_found(rid: str, param: str = "response_id") -> ApiError:
    return ApiError(404, f"Response with id '{rid}' not found.", param=param)
