"""Every contribution to every hook, for ``mockllm plugins`` (text and ``--json``).

Endpoints and transports are described by ``describe.py``; this module adds the rest: wraps,
the merged hooks (latency models, matchers, responders, validators, faults, tokenizers) with who won
each name and why, and the plugins behind middleware, configure, startup and shutdown.
"""

from __future__ import annotations

from typing import Any

from mockllm.context import ServerContext
from mockllm.named import NamedSet
from mockllm.resolve import Resolution

#: JSON section -> the hook whose implementers it lists (in pluggy's call order).
CALLED = {
    "middleware": "mockllm_asgi_middleware",
    "configure": "mockllm_configure",
    "startup": "mockllm_startup",
    "shutdown": "mockllm_shutdown",
}


def why(r: Resolution) -> str:
    """Why the winner won, in words that are true for this key."""
    builtins = [c.plugin for c in r.shadowed if c.builtin]
    plugins = [c.plugin for c in r.shadowed if not c.builtin]
    if r.reason == "runtime":
        return "runtime override (POST /_mockllm/plugins/use)"
    if r.reason == "override":
        return "start-up override (--use / MOCKLLM_USE / plugins.use)"
    if r.reason == "tryfirst":
        return "its hookimpl is tryfirst=True" + (f"; shadows {', '.join(plugins + builtins)}"
                                                   if r.shadowed else "")
    if r.reason == "builtin":
        return "builtin (nothing else implements it)"
    if plugins:
        return (f"loaded before {', '.join(plugins)}, which also implement it (first loaded "
                "wins; --use settles it)")
    if builtins:
        return f"a plugin beats the builtin ({builtins[0]})"
    return "the only implementation (there is no builtin for it)"


def implementations(r: Resolution) -> list[dict[str, Any]]:
    return [{"plugin": c.plugin, "class": c.class_path, "builtin": c.builtin}
            for c in (r.winner, *r.shadowed)]


def named_json(named: NamedSet) -> list[dict[str, Any]]:
    return [{"name": name, "selected": r.winner.plugin, "reason": r.reason, "why": why(r),
             "implementations": implementations(r)}
            for name, r in sorted(named.resolutions.items())]


def hooks_json(ctx: ServerContext) -> dict[str, Any]:
    """The sections ``plugins_json`` adds to the shape of ``mockllm plugins --json``
    (docs/cli.md): wrappers, the merged hooks and the tokenizers chosen."""
    m = ctx.merged
    wraps = [{"key": key, "kind": reg.kind,
              "wrappers": [{"plugin": w.plugin, "class": w.class_path} for w in reg.wrappers(key)]}
             for reg in (ctx.endpoints, ctx.transports) for key in reg.keys()
             if reg.wrappers(key)]
    out: dict[str, Any] = {
        "wraps": wraps,
        "latency_models": named_json(m.latency),
        "matchers": named_json(m.matchers),
        "responders": named_json(m.responders),
        "validators": named_json(m.validators),
        "faults": named_json(m.faults),
        "tokenizers": {
            "implemented_by": [i.plugin_name for i in
                               reversed(ctx.hook.mockllm_tokenizer.get_hookimpls())],
            "chosen": [{"name": name, "selected": r.winner.plugin, "reason": r.reason,
                        "why": why(r), "implementations": implementations(r)}
                       for name, r in sorted(m.tokenizers.chosen.items())],
        },
    }
    for section, hook in CALLED.items():
        out[section] = [i.plugin_name for i in reversed(getattr(ctx.hook, hook).get_hookimpls())]
    return out


def per_plugin(ctx: ServerContext, name: str) -> dict[str, list[str]]:
    """What one plugin contributes, for its entry in ``plugins``."""
    m = ctx.merged

    def names(named: NamedSet) -> list[str]:
        return sorted(n for n, cs in named.contributions.items() if any(c.plugin == name
                                                                       for c in cs))

    wraps = sorted(key for reg in (ctx.endpoints, ctx.transports) for key in reg.keys()
                   if any(w.plugin == name for w in reg.wrappers(key)))
    hooks = sorted(h for h, caller in vars(ctx.hook).items()
                   if h.startswith("mockllm_")
                   and any(i.plugin_name == name for i in caller.get_hookimpls()))
    return {"matchers": names(m.matchers), "responders": names(m.responders),
            "validators": names(m.validators), "faults": names(m.faults), "wraps": wraps,
            "latency_models": names(m.latency), "hooks": hooks}


def hooks_text(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if data["wraps"]:
        lines.append("wraps (outermost first):")
        for w in data["wraps"]:
            lines.append(f"  {w['key']:<24} " + " > ".join(x["plugin"] for x in w["wrappers"]))
    for section in ("latency_models", "matchers", "responders", "validators", "faults"):
        rows = data[section]
        if not rows:
            continue
        lines.append(f"{section.replace('_', ' ')}:")
        for e in rows:
            lines.append(f"  {e['name']:<24} -> {e['selected']:<20} {e['why']}")
    tok = data["tokenizers"]
    lines.append("tokenizers: asked in turn: " + ", ".join(tok["implemented_by"]))
    for e in tok["chosen"]:
        lines.append(f"  {e['name']:<24} -> {e['selected']:<20} {e['why']}")
    for section in CALLED:
        if data[section]:
            lines.append(f"{section}: " + ", ".join(data[section]))
    return lines
