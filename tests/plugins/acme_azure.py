"""Throwaway plugin: overrides azure.chat by key alone."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class AcmeAzureChat(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "acme-azure"})


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("azure.chat")(AcmeAzureChat)
