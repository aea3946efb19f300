"""What plugins are loaded: the data the PluginManager factory (``plugins.py``) produces.

Apart from the factory, so the server context can hold it without importing the hook specs
(which name the context in their signatures).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import pluggy

from mockllm.registry import PluginRef

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
