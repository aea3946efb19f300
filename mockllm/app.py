"""Build the Starlette app from the resolved endpoints.

One ``Route`` per (method, path). Each route holds only endpoint keys; the implementation is
looked up per request in ``Registry.active`` (a dict), so a runtime switch applies to the next
request with no rebuild.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockllm import lifespan as lifespan_hooks
from mockllm.boundary import foreign_failure, no_route, provider_of_url
from mockllm.context import ServerContext
from mockllm.observe import ARRIVED_KEY, SCOPE_KEY, Observation
from mockllm.provider import Provider
from mockllm.registry import PluginError

Handler = Callable[[Request], Awaitable[Response]]

log = logging.getLogger("mockllm.app")


#: One key's claim on a (method, path): the key and the header / query parameter that
#: selects it (both None: the unconditioned fallback).
Claim = tuple[str, str | None, str | None]


def route_table(context: ServerContext) -> list[tuple[str, str, list[Claim]]]:
    """(method, path, [(key, when_header, when_query)]) rows, refusing a (method, path)
    claimed twice under the same condition."""
    table: dict[tuple[str, str], list[Claim]] = {}
    for key in context.endpoints.keys():
        for route in context.endpoints.spec(key).routes:
            for method in route.methods:
                claims = table.setdefault((method, route.path), [])
                cond = (route.when_header, route.when_query)
                clash = [k for k, h, q in claims if (h, q) == cond and k != key]
                if clash:
                    raise PluginError(
                        f"{method} {route.path} is claimed by both {clash[0]!r} and {key!r}; "
                        "disable one plugin or give the new key its own path"
                    )
                claims.append((key, *cond))
    rows = []
    for (method, path), claims in table.items():
        # Conditioned keys are tried first; the unconditioned one is the fallback.
        claims.sort(key=lambda c: c[1] is None and c[2] is None)
        rows.append((method, path, claims))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def _selects(request: Request, header: str | None, query: str | None) -> bool:
    if header is None and query is None:
        return True
    return (header is not None and header in request.headers) or (
        query is not None and query in request.query_params)


async def serve_key(context: ServerContext, key: str, request: Request) -> Response:
    """Answer ``request`` with the active implementation of ``key``: the one way into an
    endpoint, whichever route matched. An implementation that is not an ``Endpoint`` (so has
    no boundary of its own) and raises is answered by :mod:`mockllm.boundary` too."""
    # Timed from the request's arrival when the HTTP layer stamped it (mockllm.http does):
    # in a burst, requests wait their turn after it, and that wait is part of their TTFT.
    request.scope[SCOPE_KEY] = Observation(key, request.scope.get(ARRIVED_KEY)
                                           or time.monotonic())
    impl = context.endpoints.active.get(key) or context.endpoints.create_instance(key, context)
    try:
        return await impl(request)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001 - rendered in the API's envelope
        strategy = getattr(impl, "strategy", None)
        if not isinstance(strategy, Provider):
            strategy = provider_of_url(request.url.path, request.headers)
        return foreign_failure(strategy, exc, f"endpoint for {request.method} "
                                              f"{request.url.path}")


def _handler(context: ServerContext, claims: list[Claim]) -> Handler:
    if len(claims) == 1:
        key = claims[0][0]

        async def single(request: Request) -> Response:
            return await serve_key(context, key, request)

        return single

    async def by_header(request: Request) -> Response:
        # Conditioned routes (RouteSpec.when_header / when_query): the first key whose
        # header or query parameter the request carries, else the unconditioned one, else a
        # 404 in the API's envelope.
        for key, header, query in claims:
            if _selects(request, header, query):
                return await serve_key(context, key, request)
        return no_route(request.method, request.url.path, request.headers)

    return by_header


async def _no_route(request: Request, exc: Exception) -> Response:
    # Clients get JSON in the envelope of the API they are speaking, never a bare text body.
    return no_route(request.method, request.url.path, request.headers,
                    getattr(exc, "status_code", 404), getattr(exc, "headers", None))


class MockApp:
    """The ASGI app: a dict dispatch for exact paths in front of the Starlette app, inside the
    plugins' middleware.

    Starlette's router matches routes by regex in a loop and wraps each call in two
    middleware layers; for the fixed paths of the API (``/v1/chat/completions``) a dict lookup
    on (method, path) is cheaper and behaves the same. Templated paths, HEAD, unknown URLs and
    lifespan go through Starlette. Plugin middleware (``mockllm_asgi_middleware``) wraps both,
    so every request, lifespan included, passes through it and the exact paths keep their
    shortcut; :class:`_Guard` around it answers what the middleware itself raises.
    """

    def __init__(
        self, starlette: Starlette, context: ServerContext, exact: dict[tuple[str, str], str],
        middleware: list[Middleware] | None = None,
    ) -> None:
        self.starlette = starlette
        self.state = starlette.state
        self.context = context
        #: (method, path) -> endpoint key, for the paths one key answers alone.
        self.exact = exact
        self.active = context.endpoints.active
        self.create = context.endpoints.create_instance
        #: The plugin middleware around :meth:`dispatch` (first entry outermost); None: none.
        self.wrapped: ASGIApp | None = None
        if middleware:
            app: ASGIApp = self.dispatch
            for cls, args, kwargs in reversed(middleware):
                app = cls(app, *args, **kwargs)
            self.wrapped = _Guard(app, starlette)
            # The server calls the type's __call__: with middleware, that goes through it.
            self.__class__ = _Wrapped

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The exact-path shortcut, else Starlette (what plugin middleware wraps)."""
        if scope["type"] == "http":
            key = self.exact.get((scope["method"], scope["path"]))
            if key is not None:
                response = await serve_key(self.context, key, Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.starlette(scope, receive, send)

    #: Without middleware the server calls :meth:`dispatch` itself: no frame in between.
    __call__ = dispatch


class _Wrapped(MockApp):
    """A :class:`MockApp` with plugin middleware: every call goes through it first."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.wrapped(scope, receive, send)  # type: ignore[misc]


class _Guard:
    """Outside the plugin middleware: what it raises before an answer has started is a 500
    in the envelope of the API the URL speaks (logged once, with the request id), not
    uvicorn's plain-text one. ``scope["app"]`` is the Starlette app, as inside Starlette."""

    def __init__(self, app: ASGIApp, starlette: Starlette) -> None:
        self.app = app
        self.starlette = starlette

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.starlette
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # noqa: BLE001 - rendered in the API's envelope
            if started:
                raise  # the answer is under way: the server ends the connection
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            strategy = provider_of_url(scope["path"], headers)
            response = foreign_failure(strategy, exc, f"plugin middleware on {scope['path']}")
            await response(scope, receive, send)


def build_app(context: ServerContext) -> MockApp:
    table = route_table(context)
    routes = [Route(path, _handler(context, claims), methods=[method])
              for method, path, claims in table]
    middleware: list[Middleware] = []
    for extra in context.hook.mockllm_asgi_middleware(context=context):
        middleware.extend(extra or [])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        context.warm()
        started = await lifespan_hooks.start(context)
        context.started_at = time.time()
        try:
            yield
        finally:
            await lifespan_hooks.stop(context, started)

    # Plugin middleware goes around MockApp's dispatch, not inside Starlette, so the exact
    # paths keep their shortcut with it installed.
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: _no_route, 405: _no_route})
    app.state.context = context
    exact = {
        (method, path): claims[0][0]
        for method, path, claims in table
        if "{" not in path and len(claims) == 1
    }
    return MockApp(app, context, exact, middleware)
