"""``GET /health``: liveness and readiness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class Health(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("mockllm.health", path="/health", methods=["GET"])(Health)
