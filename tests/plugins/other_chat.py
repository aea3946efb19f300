"""Throwaway plugin: a second plain override of openai.chat, to make a tie."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class OtherChat(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "other"})


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(OtherChat)
