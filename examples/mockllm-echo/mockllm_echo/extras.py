"""Every other hook, as a plugin author writes them from docs/ alone (public names only).

- ``anthropic.messages`` is *wrapped* (not replaced): the builtin answers, the wrapper stamps
  ``x-echo-wrapped: 1``.
- ``echo.lines`` is a transport of its own; ``echo.reverse`` streams through it.
- matchers ``echo.shouting``, responders ``echo.backwards``, validators ``echo.polite``,
  fault kind ``echo.stutter`` (each frame sent ``times`` times),
  latency model ``echo.steady``, tokenizer ``echo.chars`` (one token per character),
  ASGI middleware (``x-echo-requests``), configure, startup and shutdown.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockllm import (
    ConfigError,
    Frame,
    Registry,
    Reply,
    RequestView,
    ServerContext,
    Transport,
    hookimpl,
)

#: What the lifecycle hooks saw (read by the e2e test through GET /v1/echo/state).
STATE: dict[str, Any] = {"models": 0, "started": False, "requests": 0}


class Wrapped:
    """Wraps whatever implementation answers a key; delegates and stamps a header."""

    def __init__(self, context: ServerContext, inner: Callable[[Request], Any]) -> None:
        self.inner = inner

    async def __call__(self, request: Request) -> Response:
        response: Response = await self.inner(request)
        response.headers["x-echo-wrapped"] = "1"
        return response


class Lines(Transport):
    """One JSON object per line, ending with an ``{"end": true}`` line."""

    media_type = "application/x-ndjson"
    terminator = b'{"end":true}\n'

    def encode(self, frame: Frame) -> bytes:
        return frame.data + b"\n"


class Chars:
    """A character-level tokenizer: every character is one token."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, tokens: list[int]) -> str:
        return "".join(map(chr, tokens))


class Steady:
    """A latency model that is always ``ms`` (``constant``: no draws from the rng)."""

    constant = True

    def __init__(self, params: Mapping[str, Any], default_ms: float) -> None:
        ms = params.get("ms", default_ms)
        if not isinstance(ms, (int, float)) or ms < 0:
            raise ValueError(f"ms must be a number >= 0, got {ms!r}")
        self.mean = ms / 1000

    def sample(self, rng: random.Random) -> float:
        return self.mean


def shouting(value: Any) -> Callable[[RequestView], Any]:
    if not isinstance(value, bool):
        raise ConfigError(f"echo.shouting takes true or false, got {value!r}")

    def matcher(view: RequestView) -> Any:
        loud = view.last_user.isupper()
        if loud != value:
            return False
        # A mapping: the rule matches, and its template may use {shout}.
        return {"shout": view.last_user.lower()} if loud else True

    return matcher


def backwards(value: Any) -> Callable[[RequestView, random.Random], Reply]:
    prefix = value.get("prefix", "") if isinstance(value, dict) else ""
    if not isinstance(prefix, str):
        raise ConfigError(f"prefix must be text, got {prefix!r}")

    def responder(view: RequestView, rng: random.Random) -> Reply:
        return Reply(text=prefix + view.last_user[::-1])

    return responder


def polite(view: RequestView) -> str | None:
    if "rude" in view.last_user.lower():
        return "echo.polite: please rephrase that politely"
    return None


def stutter(params: Any) -> Callable[[bytes, int], bytes]:
    """A fault kind: from frame ``after`` on, every frame arrives ``times`` times."""
    times = (params or {}).get("times", 2)
    if not isinstance(times, int) or times < 1:
        raise ConfigError(f"echo.stutter: times must be a whole number of at least 1, "
                          f"got {times!r}")

    def action(data: bytes, index: int) -> bytes:
        return data * times

    return action


class CountRequests:
    """ASGI middleware: counts requests and says so in a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        STATE["requests"] += 1

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"],
                                      (b"x-echo-requests", str(STATE["requests"]).encode())]
            await send(message)

        await self.app(scope, receive, stamped)


@hookimpl
def mockllm_register_transports(registry: Registry) -> None:
    registry.register("echo.lines")(Lines)


@hookimpl
def mockllm_configure(config: Any) -> None:
    STATE["models"] = len(config.models)


@hookimpl
def mockllm_startup(context: ServerContext) -> None:
    STATE["started"] = True


@hookimpl
def mockllm_shutdown(context: ServerContext) -> None:
    STATE["started"] = False


@hookimpl
def mockllm_asgi_middleware(context: ServerContext) -> list[Middleware]:
    return [Middleware(CountRequests)]


@hookimpl
def mockllm_tokenizer(name: str) -> Chars | None:
    return Chars() if name == "echo.chars" else None


@hookimpl
def mockllm_latency_models() -> dict[str, Any]:
    return {"echo.steady": Steady}


@hookimpl
def mockllm_matchers() -> dict[str, Any]:
    return {"echo.shouting": shouting}


@hookimpl
def mockllm_responders() -> dict[str, Any]:
    return {"echo.backwards": backwards}


@hookimpl
def mockllm_faults() -> dict[str, Any]:
    return {"echo.stutter": stutter}


@hookimpl
def mockllm_validators() -> dict[str, Any]:
    return {"echo.polite": polite}
