"""``models/{model}:generateContent``, ``:streamGenerateContent`` and ``:countTokens``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError
from plugins_builtin.gemini import convert, render
from plugins_builtin.gemini.base import GeminiEndpoint
from plugins_builtin.gemini.wire import (
    CountTokensRequest,
    GenerateContentRequest,
    ModalityCount,
    TokenCount,
    count_decoder,
    encoder,
    generate_decoder,
)


class GenerateContent(GeminiEndpoint):
    """``POST /v1beta/models/{model}:generateContent`` (and ``/v1``): one whole answer."""

    key = "gemini.generate"
    method = "generateContent"

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        body = await self.read_body(request)
        req: GenerateContentRequest = convert.decode(body, generate_decoder)
        model = self.require_model(request, request.path_params["model"], self.method)
        stream = self.key == "gemini.stream"
        neutral = convert.to_neutral(req, self.key, model.id, self.headers(request), stream)
        plan = await self.make_plan(request, neutral, body)
        thoughts = convert.include_thoughts(req)
        response_id = render.new_response_id()
        if not stream:
            await self.wait_for(plan)
            return Response(encoder.encode(render.response(plan, response_id, thoughts)),
                            media_type="application/json")
        if not thoughts:
            plan.hide_reasoning()  # counted in thoughtsTokenCount, not sent
        # A mid-stream ``error`` fault: the API's error envelope as the last event.
        frames = self.with_fault(render.stream(plan, response_id, thoughts), plan)
        if request.query_params.get("alt") == "sse":
            return self.transport("gemini-sse").stream(frames, pacing=plan.pacing)
        # Without ``alt=sse`` the API streams one JSON array of the same chunks.
        await self.wait_for(plan)
        return Response(b"[" + b",\r\n".join(f.data for f in frames) + b"]",
                        media_type="application/json")


class StreamGenerateContent(GenerateContent):
    """``POST .../models/{model}:streamGenerateContent?alt=sse``: the chunks as SSE
    ``data:`` events, paced; without ``alt=sse``, one JSON array of them."""

    key = "gemini.stream"
    method = "streamGenerateContent"


class CountTokens(GeminiEndpoint):
    """``POST .../models/{model}:countTokens``: the ``promptTokenCount`` the same
    ``contents`` (or ``generateContentRequest``) gets from ``generateContent``."""

    async def handle(self, request: Request) -> Response:
        self.check_api_key(request)
        body = await self.read_body(request)
        req: CountTokensRequest = convert.decode(body, count_decoder)
        model = self.require_model(request, request.path_params["model"], "countTokens")
        if req.generate_content_request is not None:
            if req.contents:
                raise ApiError(400, "* CountTokensRequest: contents and "
                                    "generate_content_request are mutually exclusive.\n")
            inner = req.generate_content_request
        else:
            inner = GenerateContentRequest(contents=req.contents)
        neutral = convert.to_neutral(inner, "gemini.count_tokens", model.id,
                                     self.headers(request))
        count = self.context.engine.tokenizers.count(model.tokenizer, neutral.prompt_text())
        out = TokenCount(count, [ModalityCount("TEXT", count)])
        return Response(encoder.encode(out), media_type="application/json")
