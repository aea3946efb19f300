"""Build the Starlette app from the resolved endpoints.

One ``Route`` per (method, path). Each route holds only endpoint keys; the implementation is
looked up per request in ``Registry.active`` (a dict), so a runtime switch applies to the next
request with no rebuild.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mockllm.context import ServerContext
from mockllm.ids import random_hex
from mockllm.observe import SCOPE_KEY, Observation
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


def _handler(context: ServerContext, claims: list[Claim]) -> Handler:
    active = context.endpoints.active
    create = context.endpoints.create_instance
    if len(claims) == 1:
        key = claims[0][0]

        async def single(request: Request) -> Response:
            request.scope[SCOPE_KEY] = Observation(key, time.monotonic())
            impl = active.get(key) or create(key, context)
            return await _guarded(impl, request)

        return single

    async def by_header(request: Request) -> Response:
        for key, header, query in claims:
            if _selects(request, header, query):
                request.scope[SCOPE_KEY] = Observation(key, time.monotonic())
                impl = active.get(key) or create(key, context)
                return await _guarded(impl, request)
        return Response(status_code=404)

    return by_header


async def _guarded(impl: Any, request: Request) -> Response:
    """Call a key's implementation; one that raises (a plugin's, not an Endpoint subclass,
    which answers its own errors) still gets the client a JSON 500, with or without
    middleware in front, and the traceback is logged once."""
    try:
        return await impl(request)  # type: ignore[no-any-return]
    except Exception:
        log.exception("endpoint for %s %s failed", request.method, request.url.path)
        return internal_error(request)


def internal_error(request: Request) -> Response:
    """A 500 in the envelope of the API the path or headers speak, with a request id."""
    request_id = "req_" + random_hex(12)
    message = f"The server had an error processing your request (request id {request_id})."
    path = request.url.path
    body: dict[str, Any]
    if path.startswith("/api/"):  # Ollama
        body = {"error": message}
    elif path.startswith("/v1/messages") or "anthropic-version" in request.headers:
        body = {"type": "error", "error": {"type": "api_error", "message": message},
                "request_id": request_id}
    elif path.startswith("/v1beta/") or "x-goog-api-key" in request.headers:  # Gemini
        body = {"error": {"code": 500, "message": message, "status": "INTERNAL"}}
    else:
        body = {"error": {"message": message, "type": "server_error", "param": None,
                          "code": None}}
    return JSONResponse(body, status_code=500, headers={"x-request-id": request_id})


async def _no_route(request: Request, exc: Exception) -> Response:
    # Clients get JSON in the envelope of the API they are speaking, never a bare text body:
    # OpenAI's own answer for an unknown URL, unless the path or headers say otherwise.
    status = getattr(exc, "status_code", 404)
    path = request.url.path
    message = (f"Invalid URL ({request.method} {path})" if status == 404
               else f"Method {request.method} not allowed for {path}")
    body: dict[str, Any]
    if path.startswith("/api/"):  # Ollama
        body = {"error": message}
    elif path.startswith("/v1/messages") or "anthropic-version" in request.headers:
        body = {"type": "error", "error": {
            "type": "not_found_error" if status == 404 else "invalid_request_error",
            "message": message}}
    elif path.startswith("/v1beta/") or "x-goog-api-key" in request.headers:  # Gemini
        body = {"error": {"code": status, "message": message,
                          "status": "NOT_FOUND" if status == 404 else "INVALID_ARGUMENT"}}
    elif path.startswith(("/v1/ranking", "/v1/retrieval")):  # NIM
        body = {"object": "error", "message": message, "detail": {},
                "type": "invalid_request_error"}
    else:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None,
                          "code": None}}
    return JSONResponse(body, status_code=status, headers=getattr(exc, "headers", None))


class MockApp:
    """The ASGI app: a dict dispatch for exact paths in front of the Starlette app.

    Starlette's router matches routes by regex in a loop and wraps each call in two
    middleware layers; for the fixed paths of the API (``/v1/chat/completions``) a dict lookup
    on (method, path) is cheaper and behaves the same. Templated paths, HEAD, unknown URLs,
    lifespan and any plugin middleware go through Starlette.
    """

    def __init__(
        self, starlette: Starlette, context: ServerContext, exact: dict[tuple[str, str], str]
    ) -> None:
        self.starlette = starlette
        self.state = starlette.state
        self.context = context
        #: (method, path) -> endpoint key, for the paths one key answers alone.
        self.exact = exact
        self.active = context.endpoints.active
        self.create = context.endpoints.create_instance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = self.exact.get((scope["method"], scope["path"]))
            if key is not None:
                # The single-key route inlined: one coroutine less on every request.
                scope[SCOPE_KEY] = Observation(key, time.monotonic())
                impl = self.active.get(key) or self.create(key, self.context)
                try:
                    response = await impl(Request(scope, receive))
                except Exception:
                    # Endpoint subclasses answer their own errors; this is a foreign
                    # implementation that raised. Still JSON, never a traceback.
                    log.exception("endpoint for %s %s failed", scope["method"], scope["path"])
                    response = internal_error(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


async def _start(context: ServerContext) -> list[str]:
    """Run every ``mockllm_startup`` in pluggy's call order; the plugins, in that order."""
    started: list[str] = []
    # Shared state first: the runtime rules and switches published before this process
    # started are applied before it answers anything.
    await context.state.start(context.apply_change)
    # get_hookimpls() is in reverse call order; calling them one by one records who started.
    for impl in reversed(context.hook.mockllm_startup.get_hookimpls()):
        result = impl.function(**_args(impl, context))
        if inspect.isawaitable(result):
            await result
        started.append(impl.plugin_name)
    return started


async def _stop(context: ServerContext, started: list[str]) -> None:
    """``mockllm_shutdown`` in the reverse order of start-up; one failure stops no other."""
    impls = list(reversed(context.hook.mockllm_shutdown.get_hookimpls()))
    order = {name: i for i, name in enumerate(started)}
    # Plugins that started are stopped last-started first; the rest (no startup hook) first.
    impls.sort(key=lambda impl: -order.get(impl.plugin_name, len(order)))
    for impl in impls:
        try:
            result = impl.function(**_args(impl, context))
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("mockllm_shutdown of plugin %s failed", impl.plugin_name)
    for stop in list(context.extras.get("on_shutdown", [])):
        # Older plugins put coroutine functions (or coroutines) here; both still work.
        try:
            result = stop() if callable(stop) else stop
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_shutdown callback %r failed", stop)
    await context.state.stop()


def _args(impl: Any, context: ServerContext) -> dict[str, Any]:
    return {"context": context} if "context" in impl.argnames else {}


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
        started = await _start(context)
        context.started_at = time.time()
        try:
            yield
        finally:
            await _stop(context, started)

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={404: _no_route, 405: _no_route})
    app.state.context = context
    # With plugin middleware everything must pass through it, so no shortcut then.
    exact = {} if middleware else {
        (method, path): claims[0][0]
        for method, path, claims in table
        if "{" not in path and len(claims) == 1
    }
    return MockApp(app, context, exact)
