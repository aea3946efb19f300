"""What every Azure OpenAI endpoint adds to the OpenAI one it reuses: ``api-version``, the
deployment in the path as the model, and the content-filter annotations Azure puts on chat
and completion answers. Azure's error bodies and ``api-key`` check are its provider
strategy's (:mod:`.provider`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mockllm import ApiError, Frame, Transport
from mockllm.engine.plan import Plan
from mockllm.engine.request import NeutralRequest
from plugins_builtin.azure.provider import AZURE
from plugins_builtin.openai.base import OpenAIEndpoint

_json = msgspec.json.Encoder()
_decode = msgspec.json.Decoder()

_NO_DEPLOYMENT = ("The API deployment for this resource does not exist. If you created the "
                  "deployment within the last 5 minutes, please wait a moment and try again.")

_SAFE = {"filtered": False, "severity": "safe"}
_CLEAN = {"filtered": False, "detected": False}
#: What Azure's default filter reports for a harmless prompt and a harmless answer.
PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": {
    "hate": _SAFE, "jailbreak": _CLEAN, "self_harm": _SAFE, "sexual": _SAFE,
    "violence": _SAFE}}]
CHOICE_FILTER = {"hate": _SAFE, "protected_material_code": _CLEAN,
                 "protected_material_text": _CLEAN, "self_harm": _SAFE, "sexual": _SAFE,
                 "violence": _SAFE}
#: The first event of an Azure stream: the prompt's filter results, no choices.
PROMPT_FILTER_CHUNK = Frame(None, _json.encode({
    "choices": [], "created": 0, "id": "", "model": "", "object": "",
    "prompt_filter_results": PROMPT_FILTER}))


class _Prefixed(Transport):
    """A transport that sends ``first`` before the frames, framed by ``inner``."""

    def __init__(self, inner: Transport, first: Frame) -> None:
        super().__init__(inner.context)
        self.inner, self.first = inner, first
        self.media_type = inner.media_type  # type: ignore[misc]
        self.terminator = inner.terminator  # type: ignore[misc]

    def encode(self, frame: Frame) -> bytes:
        return self.inner.encode(frame)

    def stream(self, frames: Iterable[Frame], **kwargs: Any) -> Response:
        return self.inner.stream([self.first, *frames], **kwargs)


class AzureEndpoint(OpenAIEndpoint):
    """Mix in before the OpenAI endpoint class: ``class AzureChat(AzureEndpoint, Chat)``."""

    provider: ClassVar[str] = AZURE.name
    #: Whether the answer carries content-filter results (chat and completions do).
    filtered: ClassVar[bool] = False

    def authorize(self, request: Request) -> None:
        """The strategy's key check (``api-key`` or a bearer token), then ``api-version``."""
        self.check_api_key(request)
        self._check_version(request)

    def _check_version(self, request: Request) -> None:
        # The dated routes need ``api-version``; the ``/openai/v1/`` ones do not.
        if not request.url.path.startswith("/openai/v1/") and \
                "api-version" not in request.query_params:
            raise ApiError(404, "Resource not found", code="404")

    async def parse(self, request: Request, decoder: Any, fields: frozenset[str]) -> Any:
        deployment = request.path_params.get("deployment")
        if deployment is None:
            return await super().parse(request, decoder, fields)
        if self.context.engine.models.get(deployment) is None:
            self.authorize(request)
            raise ApiError(404, _NO_DEPLOYMENT, code="DeploymentNotFound")
        # The body may leave out ``model``: the deployment in the path is the model. It goes
        # in last, so it wins over a ``model`` the body has (the last key is the one read).
        body = (await self.read_body(request)).rstrip()
        if body.startswith(b"{") and body.endswith(b"}"):
            inner = body[1:-1].strip()
            sep = b"," if inner else b""
            request._body = b"{" + inner + sep + b'"model":' + _json.encode(deployment) + b"}"  # noqa: SLF001
        return await super().parse(request, decoder, fields)

    def plan(self, request: Request, neutral: NeutralRequest, body: bytes = b"") -> Plan:
        neutral.endpoint = self.key  # rules see azure.chat, not the reused openai.chat
        return super().plan(request, neutral, body)

    def transport(self, name: str) -> Transport:
        inner = super().transport(name)
        return _Prefixed(inner, PROMPT_FILTER_CHUNK) if self.filtered else inner

    async def handle(self, request: Request) -> Response:
        response = await super().handle(request)
        if not self.filtered or response.status_code != 200 or \
                response.media_type != "application/json":
            return response
        answer = _decode.decode(response.body)
        answer["prompt_filter_results"] = PROMPT_FILTER
        for choice in answer.get("choices", ()):
            choice["content_filter_results"] = CHOICE_FILTER
        return Response(_json.encode(answer), media_type="application/json")
