"""The PluginManager factory: block list, builtins, entry points, explicit modules.

Order matters and is fixed: blocks are applied before anything is imported, builtins are
registered first (as ``builtin.<module>``, with trylast hookimpls), then the ``mockllm``
entry-point group, then ``-p MODULE`` and config ``plugins.load``, then ``check_pending``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import logging
import pkgutil
import re
from dataclasses import dataclass, field
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
    installed = _installed()
    blocked_dists = {_norm(n) for n in options.disable if _norm(n) in installed.dists}
    for name in options.disable:
        pm.set_blocked(name)
    builtins = _builtin_modules(options.builtin_package)
    for modname in builtins:
        module = importlib.import_module(f"{options.builtin_package}.{modname}")
        _register(loaded, module, f"builtin.{modname}", "builtin", None)
    if options.autoload:
        _load_entry_points(loaded, blocked_dists)
    for modname, source in options.modules:
        _load_module(loaded, modname, source, installed)
    _check_blocks(options.disable, builtins, installed, options.modules, options)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from None
    return loaded


@dataclass
class _Installed:
    """The ``mockllm`` entry points of every installed distribution, read without loading."""

    #: normalised distribution name -> its entry-point names
    dists: dict[str, list[str]] = field(default_factory=dict)
    #: entry-point name -> "dist version"
    names: dict[str, str] = field(default_factory=dict)
    #: module an entry point loads -> (entry-point name, "dist version")
    modules: dict[str, tuple[str, str]] = field(default_factory=dict)


def _installed() -> _Installed:
    out = _Installed()
    for dist in importlib.metadata.distributions():
        eps = [ep for ep in dist.entry_points if ep.group == GROUP]
        if not eps:
            continue
        label = f"{dist.metadata['name']} {dist.version}"
        out.dists.setdefault(_norm(dist.metadata["name"]), []).extend(ep.name for ep in eps)
        for ep in eps:
            out.names.setdefault(ep.name, label)
            out.modules.setdefault(ep.value.split(":")[0].strip(), (ep.name, label))
    return out


def _norm(name: str) -> str:
    # PEP 503: mockllm_echo, mockllm.echo and Mockllm-Echo are one distribution.
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_module(loaded: LoadedPlugins, modname: str, source: Source,
                 installed: _Installed) -> None:
    """``-p MODULE`` / config ``plugins.load``. A module that is an installed plugin keeps
    its entry-point name, so a plugin has one name however it is loaded."""
    pm = loaded.pm
    name, dist = modname, None
    if modname in installed.modules:
        name, dist = installed.modules[modname]
        if pm.get_plugin(name) is not None:
            flag = "-p" if source == "module" else "plugins.load"
            note = (f"{flag} {modname}: already loaded as plugin {name!r} from its entry point "
                    f"({dist}); nothing to do (block it with --disable-plugin {name})")
            log.info(note)
            return
    if pm.is_blocked(name) or pm.is_blocked(modname):
        _note_blocked(loaded, name, source, dist)
        return
    if pm.get_plugin(name) is not None:
        return
    try:
        module = importlib.import_module(modname)
    except Exception as exc:
        raise PluginError(
            f"cannot import plugin module {modname!r} ({source}): {_why(exc)}"
        ) from None
    _register(loaded, module, name, source, dist)


def _check_blocks(names: list[str], builtins: list[str], installed: _Installed,
                  modules: list[tuple[str, Source]], options: LoadOptions) -> None:
    """Every blocked name must name something: a plugin, or a distribution of plugins."""
    known = {f"builtin.{m}" for m in builtins} | set(installed.names) | set(installed.dists)
    known |= {m for m, _ in modules} | {installed.modules[m][0] for m, _ in modules
                                        if m in installed.modules}
    for name in names:
        if name in known or _norm(name) in installed.dists:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PluginError(
            f"cannot block {name!r}: no plugin and no installed distribution of plugins has "
            f"that name{hint}; `mockllm plugins` lists them")


def _builtin_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def _register(
    loaded: LoadedPlugins, module: ModuleType, name: str, source: Source, dist: str | None
) -> None:
    if loaded.pm.is_blocked(name):
        _note_blocked(loaded, name, source, dist)
        return
    other = loaded.pm.get_name(module)
    if other is not None:
        raise PluginError(f"plugin {name!r} ({source}): module {module.__name__} is already "
                          f"loaded as plugin {other!r}; load it once")
    try:
        loaded.pm.register(module, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {name!r} ({source}): {exc}") from None
    loaded.infos.append(
        PluginInfo(name, source, dist, "active", len(loaded.infos), module.__name__)
    )


def _note_blocked(loaded: LoadedPlugins, name: str, source: Source, dist: str | None) -> None:
    loaded.infos.append(PluginInfo(name, source, dist, "blocked", len(loaded.infos)))


def _load_entry_points(loaded: LoadedPlugins, blocked_dists: set[str]) -> None:
    # Our own loop instead of pm.load_setuptools_entrypoints: pluggy skips a name that is
    # already registered or blocked without a word, and its import errors are tracebacks.
    pm = loaded.pm
    for dist in importlib.metadata.distributions():
        dist_name = f"{dist.metadata['name']} {dist.version}"
        dist_blocked = _norm(dist.metadata["name"]) in blocked_dists
        for ep in dist.entry_points:
            if ep.group != GROUP:
                continue
            if dist_blocked or pm.is_blocked(ep.name):
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
