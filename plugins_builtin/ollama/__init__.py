"""Ollama's API (``builtin.ollama``): chat, generate, embed (and the older embeddings),
tags, ps, show, version and the ``GET /`` probe.

Chat and generate stream NDJSON over the ``ndjson`` transport unless ``stream: false``.
"""

from __future__ import annotations

from mockllm import Registry, hookimpl
from plugins_builtin.ollama.chat import Chat, Generate
from plugins_builtin.ollama.embed import Embed, LegacyEmbeddings
from plugins_builtin.ollama.models import (
    PsEndpoint,
    RootEndpoint,
    ShowEndpoint,
    TagsEndpoint,
    VersionEndpoint,
)


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("ollama.chat", path="/api/chat", methods=["POST"])(Chat)
    registry.register("ollama.generate", path="/api/generate", methods=["POST"])(Generate)
    registry.register("ollama.embed", path="/api/embed", methods=["POST"])(Embed)
    registry.register("ollama.embeddings", path="/api/embeddings", methods=["POST"])(
        LegacyEmbeddings
    )
    registry.register("ollama.tags", path="/api/tags", methods=["GET"])(TagsEndpoint)
    registry.register("ollama.ps", path="/api/ps", methods=["GET"])(PsEndpoint)
    registry.register("ollama.show", path="/api/show", methods=["POST"])(ShowEndpoint)
    registry.register("ollama.version", path="/api/version", methods=["GET"])(VersionEndpoint)
    registry.register("ollama.root", path="/", methods=["GET", "HEAD"])(RootEndpoint)
