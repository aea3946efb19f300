"""Throwaway plugin: a NEW key on a path the builtin openai.chat already owns."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class Clash(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({})


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("acme.clash", path="/v1/chat/completions", methods=["POST"])(Clash)
