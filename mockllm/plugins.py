"""The PluginManager factory: block list, builtins, entry points, explicit modules.

Order matters and is fixed: blocks are applied before anything is imported, builtins are
registered first (as ``builtin.<module>``, with trylast hookimpls), then the ``mockllm``
entry-point group, then ``-p MODULE`` and config ``plugins.load``, then ``check_pending``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

import pluggy

from mockllm import hookspecs
from mockllm.registry import PluginError, PluginRef

log = logging.getLogger("mockllm.plugins")

GROUP = "mockllm"
BUILTIN_PACKAGE = "plugins_builtin"

Source = Literal["builtin", "entrypoint", "module", "config"]


@dataclass
class PluginInfo:
    name: str
    source: Source
    distribution: str | None
    status: Literal["active", "blocked"]
    load_index: int
    module: str = ""


@dataclass
class LoadOptions:
    """Everything that decides which plugins load; built by the CLI from flags, env and config."""

    disable: list[str] = field(default_factory=list)
    modules: list[tuple[str, Source]] = field(default_factory=list)
    autoload: bool = True
    builtin_package: str = BUILTIN_PACKAGE

    @classmethod
    def from_env(cls) -> LoadOptions:
        disabled = [n.strip() for n in os.environ.get("MOCKLLM_DISABLE_PLUGINS", "").split(",")]
        return cls(
            disable=[n for n in disabled if n],
            autoload=os.environ.get("MOCKLLM_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true"),
        )


@dataclass
class LoadedPlugins:
    pm: pluggy.PluginManager
    infos: list[PluginInfo]
    warnings: list[str]

    def refs(self) -> dict[str, PluginRef]:
        return {
            i.name: PluginRef(i.name, i.load_index, i.source == "builtin", False)
            for i in self.infos
            if i.status == "active"
        }


def build_plugin_manager(options: LoadOptions | None = None) -> LoadedPlugins:
    """A fresh, fully loaded PluginManager. Raises :class:`PluginError` with one line."""
    options = options or LoadOptions()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loaded = LoadedPlugins(pm, [], [])
    for name in options.disable:
        pm.set_blocked(name)
    for modname in _builtin_modules(options.builtin_package):
        module = importlib.import_module(f"{options.builtin_package}.{modname}")
        _register(loaded, module, f"builtin.{modname}", "builtin", None)
    if options.autoload:
        _load_entry_points(loaded)
    for modname, source in options.modules:
        if pm.is_blocked(modname):
            _note_blocked(loaded, modname, source, None)
            continue
        if pm.get_plugin(modname) is not None:
            continue
        try:
            module = importlib.import_module(modname)
        except Exception as exc:
            raise PluginError(
                f"cannot import plugin module {modname!r} ({source}): {_why(exc)}"
            ) from None
        _register(loaded, module, modname, source, None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from None
    return loaded


def _builtin_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def _register(
    loaded: LoadedPlugins, module: ModuleType, name: str, source: Source, dist: str | None
) -> None:
    if loaded.pm.is_blocked(name):
        _note_blocked(loaded, name, source, dist)
        return
    try:
        loaded.pm.register(module, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r} ({source}): {exc}") from None
    loaded.infos.append(
        PluginInfo(name, source, dist, "active", len(loaded.infos), module.__name__)
    )


def _note_blocked(loaded: LoadedPlugins, name: str, source: Source, dist: str | None) -> None:
    loaded.infos.append(PluginInfo(name, source, dist, "blocked", len(loaded.infos)))


def _load_entry_points(loaded: LoadedPlugins) -> None:
    # Our own loop instead of pm.load_setuptools_entrypoints: pluggy skips a name that is
    # already registered or blocked without a word, and its import errors are tracebacks.
    pm = loaded.pm
    for dist in importlib.metadata.distributions():
        dist_name = f"{dist.metadata['name']} {dist.version}"
        for ep in dist.entry_points:
            if ep.group != GROUP:
                continue
            if pm.is_blocked(ep.name):
                _note_blocked(loaded, ep.name, "entrypoint", dist_name)
                continue
            if pm.get_plugin(ep.name) is not None or pm.has_plugin(ep.name):
                other = next((i for i in loaded.infos if i.name == ep.name), None)
                warning = (
                    f"entry point {ep.name!r} from {dist_name} skipped: the name is already "
                    f"taken by {other.distribution or other.source if other else 'another plugin'}"
                )
                log.warning(warning)
                loaded.warnings.append(warning)
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"cannot load plugin entry point {ep.name} = {ep.value} "
                    f"from distribution {dist_name}: {_why(exc)}"
                ) from None
            _register(loaded, module, ep.name, "entrypoint", dist_name)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
