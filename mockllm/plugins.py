"""The PluginManager factory: block list, builtins, entry points, explicit modules.

Order matters and is fixed: blocks are applied before anything is imported, builtins are
registered first (as ``builtin.<module>``, with trylast hookimpls), then the ``mockllm``
entry-point group, then ``-p MODULE`` and config ``plugins.load``, then ``check_pending``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
from types import ModuleType

import pluggy

from mockllm import hookspecs
from mockllm.plugin_set import LoadedPlugins, LoadOptions, PluginInfo, Source
from mockllm.registry import PluginError

__all__ = ["GROUP", "LoadOptions", "LoadedPlugins", "PluginInfo", "Source", "build_plugin_manager"]

log = logging.getLogger("mockllm.plugins")

GROUP = "mockllm"

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
