"""What ``mockllm serve`` says when it starts: where it listens, which config, which
overrides, and a warning for every builtin that an installed plugin replaced.

A builtin replaced by a plugin nobody named on the command line is the one surprise a
user cannot see from the answers alone (an installed example plugin turns chat into an
echo), so it is said out loud at every start.
"""

from __future__ import annotations

from mockllm.context import ServerContext


def replaced_builtins(ctx: ServerContext) -> list[str]:
    """One line per key a non-builtin plugin won without being asked to (reason ``plugin``
    or ``tryfirst``) over a builtin implementation."""
    infos = {i.name: i for i in ctx.plugins.infos}
    out = []
    for registry in (ctx.endpoints, ctx.transports):
        for key, res in sorted(registry.resolutions.items()):
            if res.reason not in ("plugin", "tryfirst") or res.winner.builtin:
                continue
            builtins = [c.plugin for c in res.shadowed if c.builtin]
            if not builtins:
                continue
            info = infos.get(res.winner.plugin)
            dist = f" (from {info.distribution})" if info and info.distribution else ""
            out.append(f"{key} is answered by plugin {res.winner.plugin!r}{dist}, not by "
                       f"{builtins[0]}; --use {key}=builtin brings the builtin back, "
                       f"--disable-plugin {res.winner.plugin} blocks the plugin")
    return out


def overrides(ctx: ServerContext) -> list[str]:
    """``KEY=PLUGIN`` for every start-up override in force (--use, MOCKLLM_USE, config)."""
    return [f"{key}={res.winner.plugin}"
            for registry in (ctx.endpoints, ctx.transports)
            for key, res in sorted(registry.resolutions.items()) if res.reason == "override"]


def banner(ctx: ServerContext, url: str, workers: int, origins: dict[str, str]) -> list[str]:
    """The start-up lines; ``origins`` says where a serve option came from when not the
    command line or its default (``{"port": "MOCKLLM_PORT"}``)."""
    lines = [f"mockllm: serving {url}" + (f" with {workers} workers" if workers > 1 else "")]
    lines.append(f"mockllm: config: {ctx.config_path or 'embedded default'}")
    if origins:
        lines.append("mockllm: from the environment: "
                     + ", ".join(f"{opt} ({var})" for opt, var in sorted(origins.items())))
    use = overrides(ctx)
    if use:
        lines.append("mockllm: overrides: " + ", ".join(use))
    blocked = [i.name for i in ctx.plugins.infos if i.status == "blocked"]
    if blocked:
        lines.append("mockllm: blocked plugins: " + ", ".join(blocked))
    return lines
