"""Throwaway plugin: ASGI middleware that stamps every answer (``x-stamped``), notes every
scope it sees, and raises for a request that carries ``x-break-middleware``."""

from typing import Any

from starlette.middleware import Middleware

from mockllm import hookimpl

#: The (type, path) of every scope the middleware was called with.
SEEN: list[tuple[str, str]] = []


class Stamp:
    def __init__(self, app: Any, value: str = "1") -> None:
        self.app = app
        self.value = value.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        SEEN.append((scope["type"], scope.get("path", "")))
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if any(k == b"x-break-middleware" for k, _ in scope["headers"]):
            raise RuntimeError("middleware bug")

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-stamped", self.value)]
            await send(message)

        await self.app(scope, receive, stamped)


@hookimpl
def mockllm_asgi_middleware(context: Any) -> list[Middleware]:
    return [Middleware(Stamp, value="yes")]
