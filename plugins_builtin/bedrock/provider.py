"""Bedrock Runtime's provider strategy: ``{"message": ...}`` bodies named by the
``x-amzn-ErrorType`` header (botocore reads the error code from it), ``x-amzn-RequestId`` on
every answer, the exception events that end an event stream, the SigV4 (or Bedrock API key)
check, and Bedrock's wording of limits, throttling and malformed input."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import msgspec

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.frames import Frame
from mockllm.provider import Provider, register_provider, split_validation

from . import auth
from .wire import encoder

#: The exception shape by HTTP status (Converse's error shapes, and AWS's own for auth).
ERROR_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    405: "UnknownOperationException",
    408: "ModelTimeoutException",
    413: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
    529: "ServiceUnavailableException",
}

#: What the service says for the errors a rule or fault asks for by status alone.
MESSAGES = {
    429: "Too many requests, please wait before trying again.",
    500: "The system encountered an unexpected error during processing. Try your request "
         "again.",
    503: "Bedrock is unable to process your request.",
    529: "Bedrock is unable to process your request.",
    408: "Model has timed out in processing the request. Try your request again.",
    424: "Received error from the model. Try your request again.",
}

#: The exception event a mid-stream failure is sent as, by status (the members of the
#: ``ConverseStreamOutput`` union); any other status is a ``modelStreamErrorException``.
_STREAM_EXCEPTIONS = {
    400: "validationException",
    429: "throttlingException",
    500: "internalServerException",
    503: "serviceUnavailableException",
}

#: The namespace the service appends to the type (botocore keeps what comes before ':').
_NAMESPACE = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


def error_type(err: ApiError) -> str:
    if err.type_:
        return err.type_
    return ERROR_TYPES.get(err.status, "InternalServerException" if err.status >= 500
                           else "ValidationException")


class Bedrock(Provider):
    name: ClassVar[str] = "bedrock"
    request_id_header: ClassVar[str | None] = "x-amzn-RequestId"

    def error_type(self, err: ApiError) -> str:
        return error_type(err)

    def error_body(self, err: ApiError) -> dict[str, Any]:
        return {"message": err.message}

    def error_headers(self, err: ApiError) -> dict[str, str]:
        headers = dict(super().error_headers(err))
        headers["x-amzn-ErrorType"] = error_type(err) + _NAMESPACE
        return headers

    def rate_limit_headers(self, seconds: float) -> dict[str, str]:
        return {}  # Bedrock's 429 carries no retry-after or rate-limit headers

    def quota_headers(self, limits: Sequence[tuple[str, int, int]], reset: float,
                      now: float) -> dict[str, str]:
        return {}

    def quota_error(self, model: str, over: str, limit: int, used: int, requested: int,
                    reset: float, headers: dict[str, str]) -> ApiError:
        what = "requests" if over == "requests" else "tokens"
        return ApiError(429, f"Too many {what}, please wait before trying again.",
                        headers=headers)

    def invalid_body(self, exc: msgspec.ValidationError) -> ApiError:
        where, what = split_validation(exc)
        at = f" at '{where}'" if where else ""
        return ApiError(400, f"Malformed input request: {what}{at}, please reformat your "
                             "input and try again.")

    def malformed_json(self, exc: Exception) -> ApiError:
        return ApiError(400, f"Malformed input request: {exc}, please reformat your input "
                             "and try again.")

    def unknown_field(self, name: str) -> ApiError:
        return ApiError(400, f"Malformed input request: extraneous key [{name}] is not "
                             "permitted, please reformat your input and try again.")

    def api_key(self, headers: Mapping[str, str], query: bytes = b"") -> str:
        return auth.caller(headers)

    def check_api_key(self, headers: Mapping[str, str], keys: list[str],
                      query: bytes = b"") -> None:
        """A SigV4 ``Authorization`` (not verified) or a Bedrock API key, always required;
        with ``keys``, its access key id (or the bearer token) must be one of them."""
        auth.check(headers, keys)

    def status_message(self, status: int) -> str | None:
        return MESSAGES.get(status)

    def fault_error(self, fault: Fault) -> ApiError:
        return ApiError(fault.status, fault.message or MESSAGES.get(fault.status,
                                                                     MESSAGES[500]))

    def stream_error(self, err: ApiError) -> Frame:
        """The exception event that ends a stream (botocore raises it as EventStreamError
        with this code)."""
        event = err.type_ or _STREAM_EXCEPTIONS.get(err.status, "modelStreamErrorException")
        event = event[:1].lower() + event[1:]
        body: dict[str, Any] = {"message": err.message}
        if event == "modelStreamErrorException":
            body["originalStatusCode"] = err.status
            body["originalMessage"] = err.message
        return Frame(event, encoder.encode(body))

    def claims(self, path: str, headers: Mapping[str, str]) -> bool:
        return path.startswith("/model/") or headers.get("authorization", "").startswith(
            "AWS4-HMAC-SHA256")

    def not_found(self, method: str, path: str) -> ApiError:
        return ApiError(404, f"Unknown operation: {method} {path}",
                        type_="UnknownOperationException")

    def method_not_allowed(self, method: str, path: str) -> ApiError:
        return ApiError(405, f"Unknown operation: {method} {path}",
                        type_="UnknownOperationException")

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    def context_error(self, model: ModelConfig, prompt_tokens: int) -> ApiError:
        return ApiError(400, "Input is too long for requested model.")

    def max_tokens_error(self, model: ModelConfig, asked: int) -> ApiError:
        limit = model.max_output_tokens
        return ApiError(400, f"The maximum tokens you requested exceeds the model limit of "
                             f"{limit}. Try again with a maximum tokens value that is lower "
                             f"than {limit}.")


BEDROCK = register_provider(Bedrock())
