"""What every Gemini endpoint shares: Google's error envelope and the model look-up, worded as
``generativelanguage.googleapis.com`` words them (the API-key check is the strategy's,
:mod:`.provider`)."""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request

from mockllm import ApiError, Endpoint
from mockllm.engine.schema import ModelConfig

#: google.rpc.Code names by HTTP status (the ``status`` of the envelope).
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

#: The API's messages for the errors a rule or fault asks for by status alone.
_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}

def status_name(status: int) -> str:
    if status in STATUS_NAMES:
        return STATUS_NAMES[status]
    return "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"


def error_envelope(err: ApiError) -> dict[str, Any]:
    """``{"error": {"code", "message", "status"}}``; a rule's ``type`` sets ``status``."""
    body: dict[str, Any] = {"code": err.status, "message": err.message,
                            "status": err.type_ or status_name(err.status)}
    if err.code == "API_KEY_INVALID":
        body["details"] = [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }]
    return {"error": body}


def api_version(request: Request) -> str:
    """``v1beta`` or ``v1``: the first path segment, for messages that name it."""
    return request.url.path.split("/", 2)[1]


class GeminiEndpoint(Endpoint):
    """The model look-up; Google's envelope, API-key check (``x-goog-api-key`` / ``?key=``),
    fault wording and stream error are the provider strategy's (:mod:`.provider`)."""

    provider: ClassVar[str] = "gemini"

    def require_model(self, request: Request, name: str, method: str) -> ModelConfig:
        """The model of the path (``models/`` stripped), or the API's 404."""
        name = name.removeprefix("models/")
        model = self.context.engine.models.get(name)
        if model is None:
            raise ApiError(
                404, f"models/{name} is not found for API version {api_version(request)}, or "
                     f"is not supported for {method}. Call ListModels to see the list of "
                     "available models and their supported methods.",
            )
        return model
