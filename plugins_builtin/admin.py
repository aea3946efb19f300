"""The admin API under ``/_mockllm/`` (loopback only unless ``server.admin_token`` is set;
the checks that keep web pages out are in :mod:`plugins_builtin.admin_guard`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import ApiError, Endpoint, PluginError, Registry, RouteSpec, hookimpl, rulesproc
from mockllm.config import ConfigError
from mockllm.context import ServerContext
from mockllm.describe import plugins_json
from mockllm.reload import reload_now, start, stop
from mockllm.state import StateError
from mockllm.state.changes import (
    AddRules,
    Change,
    ClearRules,
    Reload,
    ResetCounters,
    UseImplementation,
)

from . import admin_guard

#: What ``GET /_mockllm/config`` shows in place of a secret.
REDACTED = "<redacted>"


class UseRequest(msgspec.Struct):
    key: str
    plugin: str | None = None


_use_decoder = msgspec.json.Decoder(UseRequest)


class Admin(Endpoint):
    """One key, ``mockllm.admin``, for every ``/_mockllm/...`` route."""

    async def handle(self, request: Request) -> Response:
        admin_guard.check(request, self.context.config.server)
        if admin_guard.is_change(request):
            admin_guard.check_body(request, await self.read_body(request))
        name = request.url.path.removeprefix("/_mockllm/").strip("/")
        handler = self._routes().get((request.method, name))
        if handler is None:
            raise ApiError(404, f"no admin route {request.method} /_mockllm/{name}")
        try:
            return await handler(request)
        except StateError as exc:  # the shared store is down: say so, never a 200
            raise ApiError(503, str(exc)) from None

    def _routes(self) -> dict[tuple[str, str], Callable[[Request], Awaitable[Response]]]:
        return {
            ("GET", "plugins"): self.get_plugins,
            ("POST", "plugins/use"): self.use,
            ("GET", "config"): self.get_config,
            ("POST", "reload"): self.reload,
            ("GET", "requests"): self.get_requests,
            ("DELETE", "requests"): self.clear_requests,
            ("GET", "rules"): self.get_rules,
            ("POST", "rules"): self.add_rules,
            ("DELETE", "rules"): self.clear_rules,
            ("POST", "reset"): self.reset,
        }

    async def get_plugins(self, request: Request) -> Response:
        return JSONResponse(plugins_json(self.context))

    async def use(self, request: Request) -> Response:
        req = self.decode(await self.read_body(request), _use_decoder)
        kind, registry = (("endpoint", self.context.endpoints)
                          if req.key in self.context.endpoints.keys()
                          else ("transport", self.context.transports))
        try:
            await self._change(UseImplementation(kind, req.key, req.plugin))
        except PluginError as exc:
            raise ApiError(400, str(exc), param="plugin") from None
        r = registry.resolutions[req.key]
        return JSONResponse({"key": req.key, "selected": r.winner.plugin, "reason": r.reason})

    async def _change(self, change: Change) -> None:
        """Here first (a bad change is refused before anyone else sees it), then in every
        other process sharing the state."""
        result = self.context.apply_change(change)
        if result is not None:
            await result
        await self.context.state.publish(change)

    async def get_config(self, request: Request) -> Response:
        ctx = self.context
        return JSONResponse({
            "source": ctx.config.source,
            "error": ctx.config_error,
            "tokenizer_fallbacks": ctx.tokenizers.fallbacks,
            "runtime_rules": len(ctx.engine.runtime_rules),
            "config": redacted(msgspec.to_builtins(ctx.config)),
        })

    async def reload(self, request: Request) -> Response:
        if self.context.config_path is None:
            raise ApiError(400, "the server runs on the embedded default config; start it "
                                "with --config FILE to reload")
        ok, error = await reload_now(self.context)
        if not ok:
            return JSONResponse({"reloaded": False, "error": error}, status_code=400)
        await self.context.state.publish(Reload())
        return JSONResponse({"reloaded": True, "source": self.context.config_path})

    async def get_requests(self, request: Request) -> Response:
        q = request.query_params
        limit = q.get("limit")
        if limit is not None and not limit.isdigit():
            raise ApiError(400, "limit must be a non-negative integer", param="limit")
        entries = await self.context.state.journal(
            q.get("rule"), q.get("model"), int(limit) if limit else None,
            endpoint=q.get("endpoint"))
        return JSONResponse({"requests": msgspec.to_builtins(entries), "count": len(entries)})

    async def clear_requests(self, request: Request) -> Response:
        await self.context.state.clear_journal()
        return JSONResponse({"cleared": True})

    async def get_rules(self, request: Request) -> Response:
        engine = self.context.engine
        uses = await self.context.state.uses([r.counter for r in engine.runtime + engine.rules])
        n = len(engine.runtime)
        return JSONResponse({
            "runtime": [{"name": r.name, "uses": u, "rule": msgspec.to_builtins(r.rule)}
                        for r, u in zip(engine.runtime, uses[:n], strict=True)],
            "file": [{"name": r.name, "uses": u}
                     for r, u in zip(engine.rules, uses[n:], strict=True)],
        })

    async def add_rules(self, request: Request) -> Response:
        body = await self.read_body(request)
        limits = self.context.config.server.limits
        if len(body) > limits.yaml_bytes:
            raise ApiError(413, f"rules body too large: the limit is {limits.yaml_bytes} bytes "
                                "(server.limits.yaml_bytes)", param="rules")
        text = body.decode("utf-8", errors="replace")
        try:
            # ruamel is pure Python, and 15,000 rules take seconds: never on the loop, and a
            # large body not even in this process (rulesproc says why). The plugin matchers
            # and responders compile (check_rules) before anything changes.
            rules = await anyio.to_thread.run_sync(
                rulesproc.parse_and_check, text, "<request body>", limits.yaml_depth,
                self.context.engine.check_rules)
        except ConfigError as exc:
            raise ApiError(400, str(exc), param="rules") from None
        if any(r.latency is not None for r in rules):
            # Latency blocks are checked by the timing module (profiles, distributions).
            try:
                self.context.timing.compile(
                    msgspec.structs.replace(self.context.config, rules=rules,
                                            source="<request body>"))
            except ConfigError as exc:
                raise ApiError(400, str(exc), param="rules") from None
        await self._change(AddRules(rules))
        engine = self.context.engine
        return JSONResponse({"added": [r.name for r in engine.runtime[: len(rules)]],
                             "runtime_rules": len(engine.runtime_rules)})

    async def clear_rules(self, request: Request) -> Response:
        await self._change(ClearRules())
        return JSONResponse({"cleared": True})

    async def reset(self, request: Request) -> Response:
        """Between two tests: no runtime rules or plugin switches, every rule counter (sequences,
        ``times``, ``{counter}``) back to zero, an empty journal. The config stays."""
        ctx = self.context
        await self._change(ClearRules())
        for kind, registry in (("endpoint", ctx.endpoints), ("transport", ctx.transports)):
            for key in [k for k, r in registry.resolutions.items() if r.reason == "runtime"]:
                await self._change(UseImplementation(kind, key, None))
        await self._change(ResetCounters())
        await ctx.state.clear_journal()
        return JSONResponse({"reset": True})


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """The config as JSON with its secrets (API keys, the admin token) blanked out: a
    page or log that shows the config must not hand out the keys."""
    server = config.get("server", {})
    if server.get("api_keys"):
        server["api_keys"] = [REDACTED for _ in server["api_keys"]]
    if server.get("admin_token"):
        server["admin_token"] = REDACTED
    return config


@hookimpl(trylast=True)
def mockllm_startup(context: ServerContext) -> None:
    """Start the config file watcher (hot reload) when the server runs on ``--config``."""
    start(context)


@hookimpl(trylast=True)
async def mockllm_shutdown(context: ServerContext) -> None:
    """Stop the config file watcher."""
    await stop(context)


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    paths = [("plugins", "GET"), ("plugins/use", "POST"), ("config", "GET"),
             ("reload", "POST"), ("requests", "GET"), ("requests", "DELETE"),
             ("rules", "GET"), ("rules", "POST"), ("rules", "DELETE"), ("reset", "POST")]
    by_path: dict[str, list[str]] = {}
    for p, m in paths:
        by_path.setdefault(p, []).append(m)
    registry.register("mockllm.admin", routes=[
        RouteSpec(f"/_mockllm/{p}", tuple(ms)) for p, ms in by_path.items()
    ])(Admin)
