"""Throwaway plugin: another openai.chat (by key alone) that echoes the last user message in
OpenAI's shape, so the SDK can read which implementation answered."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class EchoChat(Endpoint):
    async def handle(self, request: Request) -> Response:
        body = json.loads(await self.read_body(request))
        text = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        return JSONResponse({
            "id": "chatcmpl-echo", "object": "chat.completion", "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
        })


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(EchoChat)
