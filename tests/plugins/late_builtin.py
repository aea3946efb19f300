"""Throwaway plugin: a second trylast implementation, as a builtin would register it.

pluggy calls trylast implementations oldest first (FIFO), unlike normal ones (LIFO), so a
"last call wins" resolver would get builtins backwards. Resolution must not care.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class LateChat(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "late"})


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(LateChat)
