"""The server context: what endpoints are built with, and how it is assembled at start-up.

Assembly order: config -> plugins (block, builtins, entry points, explicit) -> registries
collect contributions -> resolve with start-up overrides -> engine. pluggy is used here and
on runtime switches and reloads only.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockllm.config import Config, load_default, load_file
from mockllm.engine.engine import Engine
from mockllm.engine.extend import Extensions
from mockllm.engine.latency import BUILTIN, LatencyModels
from mockllm.engine.timing import TimingRuntime
from mockllm.engine.tokens import Tokenizers
from mockllm.journal import Journal
from mockllm.named import Merged, collect_all, split_use
from mockllm.observe import Observation, Observer
from mockllm.plugins import LoadedPlugins, LoadOptions, Source, build_plugin_manager
from mockllm.registry import KeyRegistry, PluginError
from mockllm.reload import reload_soon
from mockllm.state import State
from mockllm.state.changes import AddRules, Change, ClearRules, Flush, Reload, UseImplementation
from mockllm.state.memory import MemoryState
from mockllm.transport import Transport

log = logging.getLogger("mockllm")


@dataclass
class StartupOptions:
    """What the CLI (or a test) asks for; env and config add to it in :func:`create_context`."""

    config_path: str | None = None
    use: dict[str, str] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    autoload: bool | None = None
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


class ServerContext:
    """Shared by every endpoint instance. ``config`` and ``engine`` are swapped whole on a
    reload, so a request sees one consistent pair (read them once per request)."""

    def __init__(
        self, config: Config, plugins: LoadedPlugins, endpoints: KeyRegistry,
        transports: KeyRegistry, state: State | None = None, merged: Merged | None = None,
    ) -> None:
        self.config = config
        #: This process's journal: the memory state's (what in-process tests read); a
        #: shared state keeps the server's journal in its store.
        self.journal = Journal(size=config.server.journal_size)
        #: Counters, runtime changes, journal, stored objects (mockllm.state): this
        #: process's, or shared with every worker and host.
        self.state: State = state if state is not None else MemoryState(self.journal)
        self.plugins = plugins
        self.endpoints = endpoints
        self.transports = transports
        #: The merged hooks (latency models, matchers, responders, validators, tokenizers).
        self.merged = merged or collect_all(plugins.pm.hook, plugins.refs(), {}, BUILTIN)
        m = self.merged
        self.tokenizers = Tokenizers(m.tokenizers)
        #: Latency models, load models and pacing histograms; kept across reloads.
        self.timing = TimingRuntime(LatencyModels(m.latency.winners()))
        self.extensions = Extensions(m.matchers.winners(), m.responders.winners(),
                                     m.validators.winners())
        self.engine = Engine(config, self.tokenizers, self.timing, counters=self.state,
                             extensions=self.extensions)
        self._record = self.state.record
        self.config_path: str | None = None
        #: The last reload error (file:line message), shown by GET /_mockllm/config.
        self.config_error: str | None = None
        self.started_at = 0.0
        self.extras: dict[str, Any] = {}
        #: Called with every finished request's Observation (metrics, plugins); the journal
        #: records it first.
        self.observers: list[Observer] = []

    def observe(self, obs: Observation) -> None:
        # Health, metrics and admin calls are not model requests: not in the journal.
        if not obs.endpoint.startswith("mockllm."):
            self._record(obs)
        for observer in self.observers:
            observer(obs)

    @property
    def hook(self) -> Any:
        return self.plugins.pm.hook

    def transport(self, name: str) -> Transport:
        impl = self.transports.active.get(name)
        if impl is None:
            impl = self.transports.create_instance(name, self)
        return impl  # type: ignore[no-any-return]

    def apply_config(self, config: Config) -> None:
        """Swap in a new validated config (hot reload). Plugin changes need a restart."""
        # previous=: counters of unchanged rules and runtime rules carry over (engine.py).
        engine = Engine(config, self.tokenizers, self.timing, previous=self.engine)
        self.config, self.engine = config, engine
        self.state.resize_journal(config.server.journal_size)
        self.config_error = None
        self.hook.mockllm_configure(config=config)

    def apply_change(self, change: Change) -> None:
        """Apply an admin change here (``mockllm.state.changes``); raises PluginError for
        a switch to an unknown plugin. The state publishes it to the other processes."""
        if isinstance(change, AddRules):
            self.engine.add_rules(change.rules)
        elif isinstance(change, ClearRules):
            self.engine.clear_rules()
        elif isinstance(change, UseImplementation):
            registry = self.endpoints if change.kind == "endpoint" else self.transports
            if change.plugin is None:
                registry.clear_runtime(change.key)
            else:
                registry.use_implementation(change.key, change.plugin)
        elif isinstance(change, Reload):
            if self.config_path is not None:
                reload_soon(self)
        else:
            assert isinstance(change, Flush)  # the state's own business

    def warm(self) -> None:
        """Load every model's tokenizer now, so the first request does not pay for it."""
        for model in self.config.models:
            self.tokenizers.get(model.tokenizer)


def _check_use_keys(use: dict[str, str], endpoints: list[str], transports: list[str]) -> None:
    unknown = sorted(k for k in use if k not in endpoints and k not in transports)
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(key, [*endpoints, *transports], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise PluginError(f"--use names an unknown key {key!r}{hint}: it is neither an endpoint "
                      "key nor a transport key (mockllm plugins lists them)")


def create_context(options: StartupOptions | None = None) -> ServerContext:
    """Assemble everything; raises ``ConfigError`` or ``PluginError`` with readable lines."""
    options = options or StartupOptions()
    config = load_file(options.config_path) if options.config_path else load_default()
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
    context = ServerContext(config, plugins, endpoints, transports, merged=merged)
    if options.config_path:
        context.config_path = str(Path(options.config_path).resolve())
    hook.mockllm_configure(config=config)
    return context
