"""``GET /health``: liveness and readiness.

With ``server.startup_delay_s`` the server warms up like a real one loading weights: for that
long after start-up ``/health`` answers 503 ``{"status": "starting"}`` and inference gets 503
in its provider's envelope (``mockllm.engine.timing`` refuses to plan).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl
from mockllm.context import ServerContext


class Health(Endpoint):
    async def handle(self, request: Request) -> Response:
        timing = self.context.timing
        if timing.clock() < timing.ready_at:
            return JSONResponse({"status": "starting"}, status_code=503,
                                headers={"retry-after": "1"})
        return JSONResponse({"status": "ok"})


@hookimpl(trylast=True)
def mockllm_startup(context: ServerContext) -> None:
    delay = context.config.server.startup_delay_s
    if delay > 0:
        context.timing.ready_at = context.timing.clock() + delay


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("mockllm.health", path="/health", methods=["GET"])(Health)
