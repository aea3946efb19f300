"""OpenAI's error vocabulary: decode failures worded as the API words them, and envelopes.

The API answers a bad body with ``{"error": {"message", "type", "param", "code"}}``. The SDK
picks its exception class from the status alone, but people read ``message``/``param``/
``code``, so they follow the real API's wording ("Missing required parameter: 'messages'.").
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from mockllm.errors import ApiError

#: msgspec says "Expected `int`, got `str` - at `$.n`"; these pull the parts apart.
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_BAD_VALUE = re.compile(r"^Invalid (?:enum )?value (?P<value>.+)$")

_NOUNS = {
    "str": "a string", "int": "an integer", "float": "a decimal", "bool": "a boolean",
    "object": "an object", "array": "an array", "null": "null",
}

#: The ``code`` OpenAI puts on errors of a status when the raiser did not pick one.
DEFAULT_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def _noun(kind: str) -> str:
    parts = [p.strip() for p in kind.split("|")]
    return " or ".join(_NOUNS.get(p, p) for p in parts)


def _param(where: str | None) -> str | None:
    if not where:
        return None
    return where[1:] if where.startswith(".") else where


def validation_error(exc: msgspec.ValidationError) -> ApiError:
    """A msgspec validation failure as the 400 OpenAI sends for the same mistake."""
    m = _AT.match(str(exc))
    what, where = (m.group("what"), m.group("where")) if m else (str(exc), None)
    param = _param(where)
    if (hit := _MISSING.match(what)) is not None:
        name = f"{param}.{hit['field']}" if param else hit["field"]
        return ApiError(400, f"Missing required parameter: '{name}'.", param=name,
                        code="missing_required_parameter")
    if (hit := _EXPECTED.match(what)) is not None:
        if param is None:
            return ApiError(400, "Invalid request body: expected a JSON object, but got "
                                 f"{_noun(hit['got'])} instead.", code="invalid_type")
        return ApiError(
            400,
            f"Invalid type for '{param}': expected {_noun(hit['want'])}, but got "
            f"{_noun(hit['got'])} instead.",
            param=param, code="invalid_type",
        )
    if (hit := _BAD_VALUE.match(what)) is not None:
        return ApiError(400, f"Invalid value for '{param}': {hit['value']}.", param=param,
                        code="invalid_value")
    return ApiError(400, f"Invalid '{param}': {what}." if param else what, param=param,
                    code="invalid_value")


def malformed_json(exc: Exception) -> ApiError:
    return ApiError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what "
        f"was sent was not valid JSON. If you have trouble figuring out how to fix this, "
        f"please contact us through our help center at help.openai.com.) ({exc})",
    )


def invalid(param: str, message: str, code: str | None = "invalid_value") -> ApiError:
    """A 400 for a value the types allow but the API refuses (``n: 0``, empty ``messages``)."""
    return ApiError(400, message, param=param, code=code)


def unrecognized(name: str) -> ApiError:
    return ApiError(400, f"Unrecognized request argument supplied: {name}",
                    code="unknown_parameter", param=name)


def check_count(name: str, value: int | None, low: int, high: int | None) -> None:
    """A 400 worded as the API words it when ``value`` (if set) is outside ``[low, high]``."""
    if value is None:
        return
    if value < low:
        raise invalid(name, f"Invalid '{name}': integer below minimum value. Expected a "
                      f"value >= {low}, but got {value} instead.", "integer_below_min_value")
    if high is not None and value > high:
        raise invalid(name, f"Invalid '{name}': integer above maximum value. Expected a "
                      f"value <= {high}, but got {value} instead.", "integer_above_max_value")


# -- the API's wording for a value of the wrong shape, shared by every body check --------

#: A JSON value's kind as the API's messages name it.
TYPE_NOUNS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
              list: "an array", dict: "an object", type(None): "null"}


def listing(values: tuple[str, ...] | list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def wrong_type(param: str, value: Any, noun: str) -> ApiError:
    got = TYPE_NOUNS.get(type(value), "another type")
    return invalid(param, f"Invalid type for '{param}': expected {noun}, but got {got} "
                          "instead.", "invalid_type")


def check_enum(param: str, value: str | None, allowed: tuple[str, ...] | list[str]) -> None:
    if value is not None and value not in allowed:
        raise invalid(param, f"Invalid value: '{value}'. Supported values are: "
                             f"{listing(allowed)}.")


def check_type(param: str, value: Any, want: type, noun: str) -> None:
    # bool is an int to Python, never to JSON.
    if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
        raise wrong_type(param, value, noun)


def missing(param: str) -> ApiError:
    return invalid(param, f"Missing required parameter: '{param}'.",
                   "missing_required_parameter")


def check_required(where: str, obj: dict[str, Any], fields: tuple[str, ...] | list[str]) -> None:
    for name in fields:
        if obj.get(name) is None:
            raise missing(f"{where}.{name}")
