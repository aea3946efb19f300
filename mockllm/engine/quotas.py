"""Stateful quotas: requests and tokens per minute, per model, API key or header value.

``quotas:`` in the config is a list; every quota whose ``models`` match a request counts it,
in fixed one-minute windows kept by the server's state (so ``--workers N`` and several hosts
on one Redis count together). A request over any limit gets its provider's 429, and every
answer (200s too) carries the rate-limit headers of the first matching quota, as the real
APIs send them: OpenAI's ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` (reset
as a duration such as ``"12.5s"``) and Anthropic's
``anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`` (reset as an RFC 3339
time). A refused request does not count. Tokens are the prompt plus the answer's tokens.
"""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from mockllm.errors import ApiError

#: Seconds of one quota window.
WINDOW = 60


class Quota(msgspec.Struct, forbid_unknown_fields=True):
    #: Who is counted apart: ``model`` (each model), ``api_key`` (each key, Bearer or
    #: ``x-api-key``), ``header:NAME`` (each value of that header) or ``all``.
    per: str = "model"
    #: Model ids (globs) this quota counts; empty: every model.
    models: list[str] = []
    #: Requests per minute (None: no request limit).
    rpm: int | None = None
    #: Tokens (prompt + answer) per minute (None: no token limit).
    tpm: int | None = None
    name: str | None = None


def check_quota(q: Quota) -> str | None:
    """A problem with ``q`` (shown as FILE:LINE by the loader), or None."""
    if not (q.per in ("model", "api_key", "all") or
            (q.per.startswith("header:") and len(q.per) > len("header:"))):
        return f"per must be model, api_key, all or header:NAME, got {q.per!r}"
    if q.rpm is None and q.tpm is None:
        return "give rpm, tpm or both"
    if any(v is not None and v < 1 for v in (q.rpm, q.tpm)):
        return "rpm and tpm must be at least 1"
    return None


class Counts(Protocol):
    """What quotas need of the state: one atomic add in a window, the totals after it."""

    def quota_add(self, key: str, window: int, requests: int, tokens: int) -> tuple[int, int]:
        ...


@dataclass(frozen=True)
class Verdict:
    headers: dict[str, str]
    error: ApiError | None = None


class Quotas:
    """The config's quotas, compiled once; :meth:`admit` on the request path."""

    def __init__(self, quotas: list[Quota]) -> None:
        self.quotas = [(i, q, q.per.removeprefix("header:").lower()) for i, q in
                       enumerate(quotas)]

    def admit(self, counts: Counts, provider: str, model: str, headers: dict[str, str],
              tokens: int, now: float | None = None) -> Verdict | None:
        """Count one request of ``tokens`` tokens: its headers, and its 429 if over."""
        now = time.time() if now is None else now
        window = int(now // WINDOW)
        reset = (window + 1) * WINDOW - now
        taken: list[tuple[str, int]] = []
        first: tuple[Quota, int, int] | None = None
        for i, q, header in self.quotas:
            if q.models and not any(fnmatch.fnmatchcase(model, m) for m in q.models):
                continue
            key = f"{q.name or i}:{_scope(q.per, header, model, headers)}"
            r, t = counts.quota_add(key, window, 1, tokens)
            taken.append((key, tokens))
            over = ("requests" if q.rpm is not None and r > q.rpm else
                    "tokens" if q.tpm is not None and t > q.tpm else None)
            if over is not None:
                for k, n in taken:  # a refused request does not count
                    counts.quota_add(k, window, -1, -n)
                out = _headers(provider, q, r - 1, t - tokens, reset, now)
                if over == "requests":
                    assert q.rpm is not None
                    error = _error(provider, model, over, q.rpm, r - 1, 1, reset, out)
                else:
                    assert q.tpm is not None
                    error = _error(provider, model, over, q.tpm, t - tokens, tokens, reset,
                                   out)
                return Verdict(out, error)
            if first is None:
                first = (q, r, t)
        if first is None:
            return None
        return Verdict(_headers(provider, first[0], first[1], first[2], reset, now))


def _scope(per: str, header: str, model: str, headers: dict[str, str]) -> str:
    if per == "model":
        return model
    if per == "all":
        return "*"
    if per == "api_key":
        auth = headers.get("authorization", "")
        return auth.removeprefix("Bearer ").strip() or headers.get("x-api-key", "")
    return headers.get(header, "")


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``"59.2s"``, ``"1m0s"``, ``"350ms"``."""
    if seconds < 1:
        return f"{max(round(seconds * 1000), 1)}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    return f"{int(seconds // 60)}m{int(seconds % 60)}s"


def _headers(provider: str, q: Quota, requests: int, tokens: int, reset: float,
             now: float) -> dict[str, str]:
    out: dict[str, str] = {}
    if provider == "anthropic":
        at = datetime.fromtimestamp(now + reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for kind, limit, used in (("requests", q.rpm, requests), ("tokens", q.tpm, tokens)):
            if limit is not None:
                out[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
                out[f"anthropic-ratelimit-{kind}-remaining"] = str(max(limit - used, 0))
                out[f"anthropic-ratelimit-{kind}-reset"] = at
        return out
    for kind, limit, used in (("requests", q.rpm, requests), ("tokens", q.tpm, tokens)):
        if limit is not None:
            out[f"x-ratelimit-limit-{kind}"] = str(limit)
            out[f"x-ratelimit-remaining-{kind}"] = str(max(limit - used, 0))
            out[f"x-ratelimit-reset-{kind}"] = _duration(reset)
    return out


def _error(provider: str, model: str, over: str, limit: int, used: int, requested: int,
           reset: float, headers: dict[str, str]) -> ApiError:
    wait = max(math.ceil(reset), 1)
    headers = {**headers, "retry-after": str(wait), "retry-after-ms": str(round(reset * 1000))}
    if provider == "anthropic":
        what = "requests" if over == "requests" else "input tokens"
        message = (f"This request would exceed your organization's rate limit of {limit} "
                   f"{what} per minute. For details, refer to: "
                   "https://docs.claude.com/en/api/rate-limits.")
    else:
        unit = "requests per min (RPM)" if over == "requests" else "tokens per min (TPM)"
        message = (f"Rate limit reached for {model} in organization org-mockllm on {unit}: "
                   f"Limit {limit}, Used {used}, Requested {requested}. Please try again in "
                   f"{_duration(reset)}.")
    # OpenAI's 429 names the exhausted limit as its type; Anthropic's is rate_limit_error.
    kind = "rate_limit_error" if provider == "anthropic" else over
    return ApiError(429, message, code="rate_limit_exceeded", type_=kind, headers=headers)
