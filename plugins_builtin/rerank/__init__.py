"""Rerank (``builtin.rerank``): Cohere's ``POST /v1/rerank`` and ``/v2/rerank``, and the
vLLM / Jina ``POST /rerank``, under the one key ``rerank``.

vLLM serves its own shape on ``/v1/rerank`` and ``/v2/rerank`` too; here those paths answer
Cohere's shape (the fields vLLM clients read, ``index`` and ``relevance_score``, are in both)
and ``/rerank`` answers vLLM's. NIM's ``/v1/ranking`` is ``builtin.nim``.
"""

from __future__ import annotations

from mockllm import Registry, RouteSpec, hookimpl
from plugins_builtin.rerank.endpoint import Rerank


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("rerank", routes=[
        RouteSpec(path, ("POST",)) for path in ("/v1/rerank", "/v2/rerank", "/rerank")
    ])(Rerank)
