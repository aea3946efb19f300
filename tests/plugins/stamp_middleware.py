"""Throwaway plugin: ASGI middleware that stamps a header (so the app takes the Starlette path)."""

from typing import Any

from starlette.middleware import Middleware

from mockllm import hookimpl


class Stamp:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@hookimpl
def mockllm_asgi_middleware(context: Any) -> list[Middleware]:
    return [Middleware(Stamp)]
