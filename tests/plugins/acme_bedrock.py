"""Throwaway plugin: overrides bedrock.converse by key alone."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class AcmeConverse(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "acme-bedrock"})


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("bedrock.converse")(AcmeConverse)
