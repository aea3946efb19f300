"""Throwaway plugin: overrides openai.chat by key alone, answering a fixed word."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class AcmeChat(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "acme"})


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(AcmeChat)
