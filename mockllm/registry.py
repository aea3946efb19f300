"""Contributions per key, their resolution, and the active instances.

Two classes, two audiences. :class:`Registry` is what a ``mockllm_register_*`` hook receives:
it can only contribute (``register(key)(cls)`` and ``wrap(key)(cls)``). :class:`KeyRegistry`
is the server's side: resolution, ``use_implementation``, ``list_implementations`` and
``create_instance``. The per-request path only reads ``KeyRegistry.active`` (a dict), so a
runtime switch is picked up by the very next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from mockllm.resolve import Contribution, Resolution, ResolutionError, rank, resolve
from mockllm.specs import EndpointSpec, RouteSpec

T = TypeVar("T", bound=type)


class PluginError(Exception):
    """A plugin misbehaved or was misconfigured; the message is one readable line."""


@dataclass(frozen=True)
class PluginRef:
    """Who is contributing while a hookimpl runs."""

    name: str
    load_index: int
    builtin: bool
    tryfirst: bool


@dataclass(frozen=True)
class _Declaration:
    plugin: str
    routes: tuple[RouteSpec, ...]


class Registry:
    """What a ``mockllm_register_endpoints`` / ``mockllm_register_transports`` hook gets.

    It can only contribute: everything is recorded with the plugin whose hook is running,
    and the winner per key is chosen later by the precedence rules (docs/plugins.md).
    """

    __slots__ = ("_owner", "_ref")

    def __init__(self, owner: KeyRegistry, ref: PluginRef) -> None:
        self._owner = owner
        self._ref = ref

    @property
    def kind(self) -> str:
        """``endpoint`` or ``transport``."""
        return self._owner.kind

    def register(
        self,
        key: str,
        path: str | None = None,
        methods: Iterable[str] | None = None,
        *,
        routes: Iterable[RouteSpec] | None = None,
        when_header: str | None = None,
    ) -> Callable[[T], T]:
        """Decorator: ``cls`` implements ``key``; ``cls(context)`` builds it.

        ``path``/``methods`` (or several ``routes``) declare a new endpoint key; an existing
        key inherits its declaration, so overriding needs only the key.
        """
        return self._owner._register(self._ref, key, path, methods, routes, when_header)

    def wrap(self, key: str) -> Callable[[T], T]:
        """Decorator: ``cls(context, inner)`` wraps whatever implementation wins ``key``.

        ``inner`` is the instance that would otherwise serve the key (the builtin or another
        plugin's); the wrapper may delegate with ``await inner(request)``. Several wrappers
        of one key stack in precedence order: the highest-ranked one is outermost.
        """
        return self._owner._wrap(self._ref, key)

    def keys(self) -> list[str]:
        """The keys contributed so far (by plugins whose hooks already ran)."""
        return self._owner.keys()


class KeyRegistry:
    """The server's registry of one kind (``endpoint`` or ``transport``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._contributions: dict[str, list[Contribution]] = {}
        self._declarations: dict[str, _Declaration] = {}
        self._wraps: dict[str, list[Contribution]] = {}
        self._overrides: dict[str, str] = {}
        self._runtime: dict[str, str | type] = {}
        self.resolutions: dict[str, Resolution] = {}
        self.warnings: list[str] = []
        self._instances: dict[type, Any] = {}
        #: (key, base class) -> the outermost wrapper around that class's instance.
        self._wrapped: dict[tuple[str, type], Any] = {}
        self._lock = threading.Lock()
        #: key -> the instance answering it; filled lazily, emptied on a switch.
        self.active: dict[str, Any] = {}

    # -- contribution (through a Registry handed to a hookimpl) --------------------------

    def _register(
        self,
        ref: PluginRef,
        key: str,
        path: str | None,
        methods: Iterable[str] | None,
        routes: Iterable[RouteSpec] | None,
        when_header: str | None,
    ) -> Callable[[T], T]:
        declared: tuple[RouteSpec, ...] = tuple(routes or ())
        if path is not None:
            verbs = tuple(m.upper() for m in (methods or ("POST",)))
            declared += (RouteSpec(path, verbs, when_header),)
        if declared:
            self._declare(key, ref.name, declared)

        def decorator(cls: T) -> T:
            if not isinstance(cls, type):
                raise PluginError(f"{ref.name}: {self.kind} {key!r} must be a class, got {cls!r}")
            self._contributions.setdefault(key, []).append(
                Contribution(key, ref.name, cls, ref.load_index, ref.builtin, ref.tryfirst)
            )
            return cls

        return decorator

    def _wrap(self, ref: PluginRef, key: str) -> Callable[[T], T]:
        def decorator(cls: T) -> T:
            if not isinstance(cls, type):
                raise PluginError(f"{ref.name}: wrapper of {self.kind} {key!r} must be a "
                                  f"class, got {cls!r}")
            self._wraps.setdefault(key, []).append(
                Contribution(key, ref.name, cls, ref.load_index, ref.builtin, ref.tryfirst)
            )
            return cls

        return decorator

    def _declare(self, key: str, plugin: str, routes: tuple[RouteSpec, ...]) -> None:
        old = self._declarations.get(key)
        if old is not None and old.routes != routes:
            raise PluginError(
                f"{plugin} declares {key!r} at {_show(routes)} but {old.plugin} already "
                f"declared it at {_show(old.routes)}; override by key alone to inherit the path"
            )
        if old is None:
            self._declarations[key] = _Declaration(plugin, routes)

    def collect(self, hook_impls: Iterable[Any], refs: dict[str, PluginRef]) -> None:
        """Run each hookimpl with a :class:`Registry` of its own, attributing what it adds."""
        for impl in hook_impls:
            base = refs[impl.plugin_name]
            ref = PluginRef(base.name, base.load_index, base.builtin, impl.tryfirst)
            kwargs = {"registry": Registry(self, ref)} if "registry" in impl.argnames else {}
            impl.function(**kwargs)

    # -- resolution -------------------------------------------------------------------

    def resolve_all(self, overrides: dict[str, str] | None = None,
                    blocked: Iterable[str] = ()) -> None:
        """Choose a winner for every key; raises :class:`PluginError` on a bad override.

        ``overrides`` must name keys of this registry (the caller sorts ``--use`` items by
        kind); ``blocked`` plugin names make a missing-path error say why.
        """
        self._overrides = dict(overrides or {})
        unknown = sorted(set(self._overrides) - set(self._contributions))
        if unknown:
            raise PluginError(f"--use names unknown {self.kind} key(s): {', '.join(unknown)}")
        for key in self._contributions:
            if self.kind == "endpoint" and key not in self._declarations:
                who = ", ".join(c.plugin for c in self._contributions[key])
                hint = ""
                off = [b for b in blocked if b.startswith("builtin.")]
                if off:
                    hint = (f" (blocked plugins, which may declare it: {', '.join(off)}; "
                            "an override by key alone needs the declaring plugin loaded)")
                raise PluginError(
                    f"endpoint {key!r} (from {who}) has no path: declare it with "
                    f"registry.register({key!r}, path=..., methods=[...]){hint}"
                )
        for key, wraps in self._wraps.items():
            if key not in self._contributions:
                who = ", ".join(c.plugin for c in wraps)
                raise PluginError(f"{who} wraps {self.kind} {key!r}, which no plugin "
                                  "implements")
            wraps.sort(key=rank)
        resolutions = {k: self._resolve(k) for k in self._contributions}
        self.resolutions = resolutions
        self.warnings = [w for r in resolutions.values() for w in r.warnings]
        self.active.clear()
        self._wrapped.clear()

    def _resolve(self, key: str) -> Resolution:
        try:
            return resolve(
                key,
                self._contributions[key],
                override=self._overrides.get(key),
                runtime=self._runtime.get(key),
            )
        except ResolutionError as exc:
            raise PluginError(str(exc)) from None

    def use_implementation(self, key: str, plugin_or_class: str | type) -> Resolution:
        """Runtime override: the next request for ``key`` is answered by this implementation."""
        if key not in self._contributions:
            raise PluginError(f"unknown {self.kind} key {key!r}")
        previous = self._runtime.get(key)
        self._runtime[key] = plugin_or_class
        try:
            resolution = self._resolve(key)
        except PluginError:
            if previous is None:
                del self._runtime[key]
            else:
                self._runtime[key] = previous
            raise
        self.resolutions[key] = resolution
        self.active.pop(key, None)
        return resolution

    def clear_runtime(self, key: str) -> Resolution:
        """Drop a runtime override, going back to the start-up resolution."""
        if key not in self._contributions:
            raise PluginError(f"unknown {self.kind} key {key!r}")
        self._runtime.pop(key, None)
        self.resolutions[key] = self._resolve(key)
        self.active.pop(key, None)
        return self.resolutions[key]

    # -- queries ----------------------------------------------------------------------

    def keys(self) -> list[str]:
        return sorted(self._contributions)

    def list_implementations(self, key: str) -> list[Contribution]:
        """Every contribution for ``key``, winner first, then in precedence order."""
        r = self.resolutions.get(key)
        if r is None:
            return list(self._contributions.get(key, []))
        return [r.winner, *r.shadowed]

    def wrappers(self, key: str) -> list[Contribution]:
        """The wrappers of ``key``, outermost first."""
        return list(self._wraps.get(key, ()))

    def spec(self, key: str) -> EndpointSpec:
        decl = self._declarations[key]
        return EndpointSpec(key, decl.routes)

    def selected(self, key: str) -> type:
        impl: type = self.resolutions[key].winner.impl
        return impl

    def create_instance(self, key: str, context: Any) -> Any:
        """The active implementation of ``key``: built once per class on first use, inside
        the key's wrappers (each chain built once per key and implementation)."""
        cls = self.selected(key)
        with self._lock:
            instance = self._instances.get(cls)
            if instance is None:
                instance = self._instances[cls] = cls(context)
            wraps = self._wraps.get(key)
            if wraps:
                chain = self._wrapped.get((key, cls))
                if chain is None:
                    chain = instance
                    for wrapper in reversed(wraps):  # the lowest-ranked one innermost
                        chain = wrapper.impl(context, chain)
                    self._wrapped[(key, cls)] = chain
                instance = chain
        self.active[key] = instance
        return instance


def _show(routes: tuple[RouteSpec, ...]) -> str:
    return ", ".join(f"{'/'.join(r.methods)} {r.path}" for r in routes)
