"""What is loaded and who wins each key, as JSON (docs/cli.md, ``mockllm plugins --json``)
and as text."""

from __future__ import annotations

from typing import Any

from mockllm.context import ServerContext
from mockllm.describe_hooks import hooks_json, hooks_text, implementations, per_plugin, why
from mockllm.registry import KeyRegistry


def _entry(reg: KeyRegistry, key: str) -> dict[str, Any]:
    r = reg.resolutions[key]
    return {"key": key, "selected": r.winner.plugin, "reason": r.reason, "why": why(r),
            "implementations": implementations(r),
            "wrappers": [w.plugin for w in reg.wrappers(key)]}


def plugins_json(ctx: ServerContext) -> dict[str, Any]:
    endpoints = []
    for key in ctx.endpoints.keys():
        routes = ctx.endpoints.spec(key).routes
        entry = _entry(ctx.endpoints, key)
        entry["methods"] = sorted({m for r in routes for m in r.methods})
        entry["path"] = routes[0].path
        entry["routes"] = [{"methods": list(r.methods), "path": r.path,
                            "when_header": r.when_header, "when_query": r.when_query}
                           for r in routes]
        endpoints.append(entry)
    return {
        "plugins": [
            {"name": i.name, "source": i.source, "distribution": i.distribution,
             "status": i.status, "module": i.module, **per_plugin(ctx, i.name)}
            for i in ctx.plugins.infos
        ],
        "endpoints": endpoints,
        "transports": [_entry(ctx.transports, k) for k in ctx.transports.keys()],
        **hooks_json(ctx),
        "warnings": [*ctx.plugins.warnings, *ctx.endpoints.warnings, *ctx.transports.warnings,
                     *ctx.merged.warnings, *ctx.merged.tokenizers.warnings],
    }


def plugins_text(ctx: ServerContext, explain: str | None = None) -> str:
    data = plugins_json(ctx)
    lines: list[str] = []
    if explain is None:
        lines.append("plugins (in load order; hooks call builtins last):")
        for p in data["plugins"]:
            dist = f"  [{p['distribution']}]" if p["distribution"] else ""
            lines.append(f"  {p['name']:<24} {p['source']:<10} {p['status']}{dist}")
    for kind in ("endpoints", "transports"):
        rows = [e for e in data[kind] if explain in (None, e["key"])]
        if not rows:
            continue
        lines.append(f"{kind}:")
        for e in rows:
            where = _where(e["routes"]) if "routes" in e else ""
            lines.append(f"  {e['key']:<24} -> {e['selected']:<20} ({e['reason']}){where}")
            if explain is not None:
                lines.append(f"      why: {e['why']}")
                if e["wrappers"]:
                    lines.append(f"      wrapped by: {' > '.join(e['wrappers'])}")
                for impl in e["implementations"]:
                    mark = "*" if impl["plugin"] == e["selected"] else " "
                    lines.append(f"    {mark} {impl['plugin']:<20} {impl['class']}")
            else:
                shadowed = [i["plugin"] for i in e["implementations"][1:]]
                if shadowed:
                    lines.append(f"      shadows: {', '.join(shadowed)}")
    if explain is not None and not any(
        e["key"] == explain for k in ("endpoints", "transports") for e in data[k]
    ):
        raise KeyError(explain)
    if explain is None:
        lines.extend(hooks_text(data))
    for w in data["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def _where(routes: list[dict[str, Any]]) -> str:
    """``POST /v1/x``, plus how many more routes and the header a route needs, if any."""
    first = routes[0]
    out = f"  {'/'.join(first['methods'])} {first['path']}"
    cond = condition_text(first["when_header"], first["when_query"])
    if cond:
        out += f" (with {cond})"
    if len(routes) > 1:
        out += f" +{len(routes) - 1} more"
    return out


def condition_text(header: str | None, query: str | None) -> str:
    """``x-goog-api-key or ?key``: what selects a conditioned route, empty for none."""
    return " or ".join([*([header] if header else []), *([f"?{query}"] if query else [])])


def routes_json(ctx: ServerContext) -> list[dict[str, Any]]:
    from mockllm.app import route_table

    out = []
    for method, path, claims in route_table(ctx):
        for key, header, query in claims:
            out.append({"method": method, "path": path, "key": key, "when_header": header,
                        "when_query": query,
                        "plugin": ctx.endpoints.resolutions[key].winner.plugin,
                        "class": ctx.endpoints.resolutions[key].winner.class_path})
    return out
