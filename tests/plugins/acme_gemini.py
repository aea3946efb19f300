"""Throwaway plugin: overrides gemini.generate by key alone."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class AcmeGenerate(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "acme-gemini"})


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("gemini.generate")(AcmeGenerate)
