"""Assembling the server context at start-up: config, plugins, registries, resolution.

:func:`create_context` is the one way a :class:`~mockllm.context.ServerContext` comes to be
(``mockllm serve``, the pytest plugin, tests). Assembly order: config -> plugins (block,
builtins, entry points, explicit) -> registries collect contributions -> resolve with
start-up overrides -> engine. pluggy is called here and on a runtime switch, never per
request.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mockllm.config import Config, ConfigError, load_default, load_file, locate
from mockllm.context import ServerContext
from mockllm.engine.latency import BUILTIN
from mockllm.named import collect_all, split_use
from mockllm.plugins import LoadOptions, Source, build_plugin_manager
from mockllm.registry import KeyRegistry, PluginError
from mockllm.state.open import open_state

log = logging.getLogger("mockllm")


@dataclass
class StartupOptions:
    """What the CLI (or a test) asks for; env and config add to it in :func:`create_context`."""

    config_path: str | None = None
    use: dict[str, str] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    autoload: bool | None = None
    #: ``server.state`` from the command line (``--workers`` sets its embedded store).
    state: str | None = None
    builtin_package: str = "plugins_builtin"


def parse_use(items: Iterable[str], origin: str) -> dict[str, str]:
    """``KEY=PLUGIN`` strings to a dict; a malformed item is a :class:`PluginError`."""
    out: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        key, sep, plugin = item.partition("=")
        if not sep or not key.strip() or not plugin.strip():
            raise PluginError(f"{origin}: expected KEY=PLUGIN, got {item!r}")
        out[key.strip()] = plugin.strip()
    return out


def _check_use_keys(use: dict[str, str], endpoints: list[str], transports: list[str]) -> None:
    unknown = sorted(k for k in use if k not in endpoints and k not in transports)
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(key, [*endpoints, *transports], n=1)
    if close:
        # The closest valid key tells which kind of key was meant.
        kind = "endpoint" if close[0] in endpoints else "transport"
        raise PluginError(f"--use names an unknown {kind} key {key!r} (did you mean "
                          f"{close[0]!r}?); mockllm plugins lists every key")
    raise PluginError(f"--use names an unknown key {key!r}: it is neither an endpoint key nor "
                      "a transport key (mockllm plugins lists them)")


def create_context(options: StartupOptions | None = None) -> ServerContext:
    """Assemble everything; raises ``ConfigError`` or ``PluginError`` with readable lines.

    A plugin problem that comes from the config file (``plugins.load``, ``plugins.disable``,
    ``plugins.use``) is a ConfigError with that entry's FILE:LINE."""
    options = options or StartupOptions()
    config = load_file(options.config_path) if options.config_path else load_default()
    try:
        return _assemble(options, config)
    except PluginError as exc:
        where = _config_entry(config, str(exc))
        if where is None:
            raise
        raise ConfigError([f"{locate(config, where)}: {where}: {exc}"]) from None


def _config_entry(config: Config, message: str) -> str | None:
    """The config key path a plugin error message is about, if the config named it."""
    plugins = config.plugins
    for i, name in enumerate(plugins.load):
        if repr(name) in message or f" {name} " in message:
            return f"plugins.load[{i}]"
    for i, name in enumerate(plugins.disable):
        if repr(name) in message:
            return f"plugins.disable[{i}]"
    for key, plugin in plugins.use.items():
        if repr(key) in message or f"{key}={plugin}" in message:
            return f"plugins.use.{key}"
    return None


def _assemble(options: StartupOptions, config: Config) -> ServerContext:
    env = LoadOptions.from_env()
    modules: list[tuple[str, Source]] = [(m, "module") for m in options.modules]
    modules += [(m, "config") for m in config.plugins.load]
    load = LoadOptions(
        disable=list(dict.fromkeys([*options.disable, *env.disable, *config.plugins.disable])),
        modules=modules,
        autoload=env.autoload if options.autoload is None else options.autoload,
        builtin_package=options.builtin_package,
    )
    plugins = build_plugin_manager(load)
    use_all = dict(config.plugins.use)
    use_all.update(parse_use(os.environ.get("MOCKLLM_USE", "").split(","), "MOCKLLM_USE"))
    use_all.update(options.use)
    use, named_use = split_use(use_all)
    endpoints, transports = KeyRegistry("endpoint"), KeyRegistry("transport")
    refs = plugins.refs()
    hook = plugins.pm.hook
    endpoints.collect(reversed(hook.mockllm_register_endpoints.get_hookimpls()), refs)
    transports.collect(reversed(hook.mockllm_register_transports.get_hookimpls()), refs)
    _check_use_keys(use, endpoints.keys(), transports.keys())
    blocked = [i.name for i in plugins.infos if i.status == "blocked"]
    endpoints.resolve_all({k: v for k, v in use.items() if k in endpoints.keys()}, blocked)
    transports.resolve_all({k: v for k, v in use.items() if k in transports.keys()}, blocked)
    merged = collect_all(hook, refs, named_use, BUILTIN)
    for warning in [*plugins.warnings, *endpoints.warnings, *transports.warnings,
                    *merged.warnings]:
        log.warning(warning)
    state = open_state(options.state or config.server.state, config.server.journal_size)
    context = ServerContext(config, plugins, endpoints, transports, state, merged=merged)
    if options.config_path:
        context.config_path = str(Path(options.config_path).resolve())
    hook.mockllm_configure(config=config)
    return context
