"""Who may call: a SigV4-signed request (the signature is not verified) or a Bedrock API key.

AWS refuses a request with no credentials, or with an ``Authorization`` header that is not a
well-formed SigV4 one, before it looks at the body: 403s whose ``x-amzn-ErrorType`` and
messages are the ones AWS sends. The signature itself is never checked (a mock has no secret
keys). With ``server.api_keys`` configured, the SigV4 access key id (the first part of
``Credential=``) or the API key (``Authorization: Bearer ...``, what boto3 sends for
``AWS_BEARER_TOKEN_BEDROCK``) must be one of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from mockllm.errors import ApiError
from mockllm.provider import bearer

_ALGORITHM = "AWS4-HMAC-SHA256"
_SERVICE = "bedrock"
_REQUIRED = ("Credential", "Signature", "SignedHeaders")
_INVALID_TOKEN = "The security token included in the request is invalid."


def _refuse(message: str, kind: str) -> ApiError:
    return ApiError(403, message, type_=kind)


def check(headers: Mapping[str, str], keys: list[str]) -> None:
    """Raise AWS's 403 unless the request is signed (or carries an API key) well enough."""
    value = headers.get("authorization", "").strip()
    if not value:
        raise _refuse("Missing Authentication Token", "MissingAuthenticationTokenException")
    token = bearer(headers)
    if token:
        if keys and token not in keys:
            raise _refuse(_INVALID_TOKEN, "UnrecognizedClientException")
        return
    access_key = _sigv4_access_key(value, headers)
    if keys and access_key not in keys:
        raise _refuse(_INVALID_TOKEN, "UnrecognizedClientException")


def caller(headers: Mapping[str, str]) -> str:
    """Who the request says it is ('' when nobody): the bearer token, or the access key id
    of a SigV4 ``Credential=`` (what ``server.api_keys`` and a ``per: api_key`` quota see)."""
    token = bearer(headers)
    if token:
        return token
    _, found, rest = headers.get("authorization", "").partition("Credential=")
    return rest.split("/", 1)[0].strip() if found else ""


def _sigv4_access_key(value: str, headers: Mapping[str, str]) -> str:
    """The access key id of a well-formed SigV4 ``Authorization`` header (else AWS's 403)."""
    algorithm, _, rest = value.partition(" ")
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, item = part.strip().partition("=")
        if sep:
            params[name] = item
    problems = [f"Authorization header requires '{name}' parameter." for name in _REQUIRED
                if not params.get(name)]
    if "x-amz-date" not in headers and "date" not in headers:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or "
                        "a 'Date' header.")
    if algorithm != _ALGORITHM or problems:
        if algorithm != _ALGORITHM and not problems:
            problems.append(f"Unsupported signature algorithm '{algorithm}'.")
        raise _refuse(" ".join(problems) + f" Authorization={value}",
                      "IncompleteSignatureException")
    scope = params["Credential"].split("/")
    if len(scope) != 5 or not scope[0]:
        raise _refuse(f"Credential should be scoped to a valid region. Credential="
                      f"{params['Credential']}", "IncompleteSignatureException")
    if scope[4] != "aws4_request":
        raise _refuse(f"Credential should be scoped with a valid terminator: 'aws4_request', "
                      f"not '{scope[4]}'.", "IncompleteSignatureException")
    if scope[3] != _SERVICE:
        raise _refuse(f"Credential should be scoped to correct service: '{_SERVICE}'.",
                      "InvalidSignatureException")
    return scope[0]
