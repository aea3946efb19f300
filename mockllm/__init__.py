"""mockllm: a mock LLM API server whose every endpoint and transport is a pluggy plugin.

The names below are the public surface plugin authors write against (docs/writing-plugins.md,
docs/hooks.md);
tests/test_public_api.py snapshots them, so any change to it is deliberate. Nothing a plugin
needs lives anywhere else: no plugin has to import ``plugins_builtin`` or a private module.

Every name but ``hookimpl`` and ``__version__`` is imported on first use (PEP 562): pytest
imports ``mockllm.testing`` (our ``pytest11`` plugin) in every run of every suite in a venv
where mockllm is installed, fixture used or not, so ``import mockllm`` must stay cheap.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from mockllm.config_error import ConfigError
    from mockllm.config_schema import Config
    from mockllm.context import ServerContext
    from mockllm.endpoint import Endpoint
    from mockllm.engine.latency import LatencyModel, LatencyParamError
    from mockllm.engine.plan import Choice, Plan, ToolCall
    from mockllm.engine.reply import Reply
    from mockllm.engine.request import Message, NeutralRequest, ToolDef
    from mockllm.engine.tokens import Tokenizer
    from mockllm.engine.view import RequestView
    from mockllm.errors import ApiError
    from mockllm.faults import Fault
    from mockllm.frames import Frame
    from mockllm.observe import Observation
    from mockllm.pacing import Pacing
    from mockllm.registry import PluginError, Registry
    from mockllm.specs import EndpointSpec, RouteSpec
    from mockllm.transport import Transport

#: The distribution is published as ``mockllm-server`` (the PyPI name ``mockllm`` belongs to
#: an unrelated project); the import package, CLI and entry-point group are ``mockllm``.
DISTRIBUTION = "mockllm-server"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: Decorator for hook implementations: ``@hookimpl`` or ``@hookimpl(tryfirst=True)``.
hookimpl = pluggy.HookimplMarker("mockllm")

#: Public names, imported on first use, so ``import mockllm`` (and the pytest plugin) stays
#: light and no import cycle can form.
_LAZY = {
    "ApiError": "mockllm.errors",
    "Choice": "mockllm.engine.plan",
    "Config": "mockllm.config_schema",
    "ConfigError": "mockllm.config_error",
    "Endpoint": "mockllm.endpoint",
    "EndpointSpec": "mockllm.specs",
    "Fault": "mockllm.faults",
    "Frame": "mockllm.frames",
    "LatencyModel": "mockllm.engine.latency",
    "LatencyParamError": "mockllm.engine.latency",
    "Message": "mockllm.engine.request",
    "NeutralRequest": "mockllm.engine.request",
    "Observation": "mockllm.observe",
    "Pacing": "mockllm.pacing",
    "Plan": "mockllm.engine.plan",
    "PluginError": "mockllm.registry",
    "Registry": "mockllm.registry",
    "Reply": "mockllm.engine.reply",
    "RequestView": "mockllm.engine.view",
    "RouteSpec": "mockllm.specs",
    "ServerContext": "mockllm.context",
    "ToolCall": "mockllm.engine.plan",
    "ToolDef": "mockllm.engine.request",
    "Tokenizer": "mockllm.engine.tokens",
    "Transport": "mockllm.transport",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockllm' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ApiError",
    "Choice",
    "Config",
    "ConfigError",
    "Endpoint",
    "EndpointSpec",
    "Fault",
    "Frame",
    "LatencyModel",
    "LatencyParamError",
    "Message",
    "NeutralRequest",
    "Observation",
    "Pacing",
    "Plan",
    "PluginError",
    "Registry",
    "Reply",
    "RequestView",
    "RouteSpec",
    "ServerContext",
    "Tokenizer",
    "ToolCall",
    "ToolDef",
    "Transport",
    "__version__",
    "hookimpl",
]
