"""Google's Gemini API (``builtin.gemini``): generateContent, streamGenerateContent,
countTokens, embedContent / batchEmbedContents and the model list, on ``/v1beta`` and ``/v1``.

google-genai 3.x calls ``/v1`` by default (2.x called ``/v1beta``). ``GET /v1/models`` is
OpenAI's path too: a request carrying Google's key (``x-goog-api-key`` or ``?key=``) is routed
here, any other to ``openai.models``.
"""

from __future__ import annotations

from typing import ClassVar

from mockllm import Frame, Registry, RouteSpec, Transport, hookimpl
from plugins_builtin.gemini.embed import EmbedContent
from plugins_builtin.gemini.endpoints import CountTokens, GenerateContent, StreamGenerateContent
from plugins_builtin.gemini.models import Models

VERSIONS = ("/v1beta", "/v1")


class GeminiSseTransport(Transport):
    """Google's SSE: ``data: {json}`` events separated by CRLF pairs, no ``[DONE]``."""

    media_type: ClassVar[str] = "text/event-stream"

    def encode(self, frame: Frame) -> bytes:
        return b"data: " + frame.data + b"\r\n\r\n"


def _post(action: str) -> list[RouteSpec]:
    return [RouteSpec(f"{v}/models/{{model}}:{action}", ("POST",)) for v in VERSIONS]


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("gemini.generate", routes=_post("generateContent"))(GenerateContent)
    registry.register("gemini.stream", routes=_post("streamGenerateContent"))(
        StreamGenerateContent)
    registry.register("gemini.count_tokens", routes=_post("countTokens"))(CountTokens)
    registry.register("gemini.embed", routes=[
        *_post("embedContent"), *_post("batchEmbedContents"),
    ])(EmbedContent)
    key = {"when_header": "x-goog-api-key", "when_query": "key"}
    registry.register("gemini.models", routes=[
        RouteSpec("/v1beta/models", ("GET",)),
        RouteSpec("/v1beta/models/{model:path}", ("GET",)),
        # Shared with openai.models: taken only with Google's key.
        RouteSpec("/v1/models", ("GET",), **key),
        RouteSpec("/v1/models/{model:path}", ("GET",), **key),
    ])(Models)


@hookimpl(trylast=True)
def mockllm_register_transports(registry: Registry) -> None:
    registry.register("gemini-sse")(GeminiSseTransport)
