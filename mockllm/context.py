"""The server context: what every endpoint instance is built with.

``assembly.create_context`` assembles it; this module only holds it, so the hook specs can
name it without importing the plugin loader.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from mockllm.config_schema import Config
from mockllm.engine import tokens, vectors
from mockllm.engine.engine import Engine
from mockllm.engine.extend import Extensions
from mockllm.engine.latency import BUILTIN, LatencyModels
from mockllm.engine.timing import TimingRuntime
from mockllm.engine.tokens import Tokenizers
from mockllm.journal import Journal
from mockllm.named import Merged, collect_all
from mockllm.observe import Observation, Observer
from mockllm.plugin_set import LoadedPlugins
from mockllm.registry import KeyRegistry
from mockllm.reload import reload_now
from mockllm.state import State
from mockllm.state.changes import (
    AddRules,
    Change,
    ClearRules,
    Flush,
    Reload,
    ResetCounters,
    UseImplementation,
)
from mockllm.state.memory import MemoryState
from mockllm.transport import Transport

log = logging.getLogger("mockllm")


class ServerContext:
    """Shared by every endpoint instance. ``config`` and ``engine`` are swapped whole on a
    reload, so a request sees one consistent pair (read them once per request)."""

    def __init__(
        self, config: Config, plugins: LoadedPlugins, endpoints: KeyRegistry,
        transports: KeyRegistry, state: State | None = None, merged: Merged | None = None,
    ) -> None:
        self.config = config
        #: Counters, runtime changes, journal, stored objects (mockllm.state): this
        #: process's, or shared with every worker and host.
        self.state: State = (state if state is not None
                             else MemoryState(Journal(size=config.server.journal_size)))
        #: This process's journal: the memory state's (what in-process tests read); a
        #: shared state keeps the server's journal in its store.
        self.journal = self.state.local_journal
        self.plugins = plugins
        self.endpoints = endpoints
        self.transports = transports
        #: The merged hooks (latency models, matchers, responders, validators, faults,
        #: tokenizers).
        self.merged = merged or collect_all(plugins.pm.hook, plugins.refs(), {}, BUILTIN)
        m = self.merged
        self.tokenizers = Tokenizers(m.tokenizers)
        #: Latency models, load models and pacing histograms; kept across reloads.
        self.timing = TimingRuntime(LatencyModels(m.latency.winners()))
        self.extensions = Extensions(m.matchers.winners(), m.responders.winners(),
                                     m.validators.winners(), m.faults.winners())
        self.engine = Engine(config, self.tokenizers, self.timing, counters=self.state,
                             extensions=self.extensions)
        _budget(config, self.state)
        self._record = self.state.recorder()
        self.config_path: str | None = None
        #: The last reload error (file:line message), shown by GET /_mockllm/config.
        self.config_error: str | None = None
        self.started_at = 0.0
        self.extras: dict[str, Any] = {}
        #: Called with every finished request's Observation (metrics, plugins); the journal
        #: records it first.
        self.observers: list[Observer] = []
        #: id(observer) -> how many times it raised (the first one is logged).
        self.observer_failures: dict[int, int] = {}

    def observe(self, obs: Observation) -> None:
        # Health, metrics and admin calls are not model requests: not in the journal.
        if not obs.endpoint.startswith("mockllm."):
            self._record(obs)
        for observer in self.observers:
            try:
                observer(obs)
            except Exception:
                # An observer is a plugin's bystander: it never fails the request it watches.
                # Its traceback is logged the first time; later failures are only counted.
                failures = self.observer_failures.get(id(observer), 0)
                self.observer_failures[id(observer)] = failures + 1
                if not failures:
                    log.exception("observer %r failed (later failures are counted in "
                                  "context.observer_failures, not logged)", observer)

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
        _budget(config, self.state)
        self.config_error = None
        self.hook.mockllm_configure(config=config)

    def apply_change(self, change: Change) -> Awaitable[object] | None:
        """Apply an admin change here (``mockllm.state.changes``); raises PluginError for
        a switch to an unknown plugin. The state publishes it to the other processes.
        A reload is returned to be awaited (it parses off the event loop), so a process
        confirms it only once it holds."""
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
        elif isinstance(change, ResetCounters):
            self.state.reset_counters()
        elif isinstance(change, Reload):
            if self.config_path is not None:
                return reload_now(self)
        else:
            assert isinstance(change, Flush)  # the state's own business
        return None

    def warm(self) -> None:
        """Load every model's tokenizer now, so the first request does not pay for it."""
        for model in self.config.models:
            self.tokenizers.get(model.tokenizer)


def _budget(config: Config, state: State) -> None:
    """Apply ``server.memory``: the caches are the process's (every server in it shares
    them), the stores and journal this state's."""
    memory = config.server.memory
    tokens.budget(memory.text_cache_bytes)
    vectors.budget(memory.embedding_cache_bytes)
    state.budget(memory.store_bytes, memory.journal_body_bytes)
