"""``POST /model/{modelId}/converse`` and ``POST /model/{modelId}/converse-stream``.

Both check the credentials first (as AWS does, before the body), decode the body, resolve
the model, and ask the engine for a plan; ``converse`` answers one JSON document,
``converse-stream`` the AWS event stream (transport ``aws-eventstream``). The envelope,
``x-amzn-ErrorType`` and ``x-amzn-RequestId`` are the provider strategy's (:mod:`.provider`).
"""

from __future__ import annotations

import time
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import Response

from mockllm import Endpoint
from plugins_builtin.bedrock import convert, render
from plugins_builtin.bedrock.wire import converse_decoder, encoder

#: Top-level members of ``ConverseRequest`` (``server.strict`` refuses any other).
FIELDS = frozenset({
    "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
    "additionalModelRequestFields", "additionalModelResponseFieldPaths", "promptVariables",
    "requestMetadata", "performanceConfig", "serviceTier", "outputConfig", "projectIdentifier",
})


class Converse(Endpoint):
    """``converse``: the whole answer as a ``ConverseResponse``."""

    provider: ClassVar[str] = "bedrock"
    key: ClassVar[str] = "bedrock.converse"
    streams: ClassVar[bool] = False

    async def handle(self, request: Request) -> Response:
        started = time.monotonic()
        self.check_api_key(request)
        body = await self.read_body(request)
        req = self.decode(body or b"{}", converse_decoder)
        if self.context.config.server.strict and body:
            self.reject_unknown(body, FIELDS)
        model = convert.resolve_model(self.context.engine.models,
                                      request.path_params["modelId"])
        neutral = convert.to_neutral(req, self.key, model, self.headers(request), self.streams)
        plan = await self.make_plan(request, neutral, body)
        if self.streams:
            scheduled = plan.pacing.total(plan.completion_tokens) if plan.pacing else 0.0
            latency = round((time.monotonic() - started + scheduled) * 1000)
            frames = self.with_fault(render.stream(plan, latency), plan)
            return self.transport("aws-eventstream").stream(frames, pacing=plan.pacing)
        await self.wait_for(plan)
        latency = round((time.monotonic() - started) * 1000)
        return Response(encoder.encode(render.response(plan, latency)),
                        media_type="application/json")


class ConverseStream(Converse):
    """``converse-stream``: messageStart, content block events, messageStop and metadata,
    each an AWS event-stream message, paced on the timing schedule."""

    key: ClassVar[str] = "bedrock.converse_stream"
    streams: ClassVar[bool] = True
