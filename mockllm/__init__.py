"""mockllm: a mock LLM API server whose every endpoint and transport is a pluggy plugin.

The names below are the public surface plugin authors write against (DESIGN.md §3).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pluggy

from mockllm.endpoint import Endpoint
from mockllm.errors import ApiError
from mockllm.registry import PluginError, Registry
from mockllm.specs import EndpointSpec, RouteSpec, TransportSpec
from mockllm.transport import Frame, Transport

try:
    __version__ = version("mockllm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: Decorator for hook implementations: ``@hookimpl`` or ``@hookimpl(tryfirst=True)``.
hookimpl = pluggy.HookimplMarker("mockllm")

__all__ = [
    "ApiError",
    "Endpoint",
    "EndpointSpec",
    "Frame",
    "PluginError",
    "Registry",
    "RouteSpec",
    "Transport",
    "TransportSpec",
    "__version__",
    "hookimpl",
]
