"""Stateful quotas: requests and tokens per minute, per model, API key or header value.

``quotas:`` in the config is a list; every quota whose ``models`` match a request counts it,
in fixed one-minute windows kept by the server's state (so ``--workers N`` and several hosts
on one Redis count together). A request over any limit gets its provider's 429, and every
answer (200s too) carries the rate-limit headers of the first matching quota, as the real
APIs send them. What those headers are called and say, how the 429 is worded and where the
API key that ``per: api_key`` counts by is sent are the provider strategy's
(``Provider.quota_headers`` / ``quota_error`` / ``api_key``); this module only counts. A
refused request does not count. Tokens are the prompt plus the answer's tokens.
"""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass
from typing import Protocol

import msgspec

from mockllm.errors import ApiError
from mockllm.provider import Provider, provider_for

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
              tokens: int, now: float | None = None, query: bytes = b"") -> Verdict | None:
        """Count one request of ``tokens`` tokens: its headers, and its 429 if over (worded
        and headed by ``provider``'s strategy). ``query`` is the raw query string, for an
        API that takes its key there (``per: api_key``)."""
        strategy = provider_for(provider)
        now = time.time() if now is None else now
        window = int(now // WINDOW)
        reset = (window + 1) * WINDOW - now
        taken: list[tuple[str, int]] = []
        first: tuple[Quota, int, int] | None = None
        for i, q, header in self.quotas:
            if q.models and not any(fnmatch.fnmatchcase(model, m) for m in q.models):
                continue
            key = f"{q.name or i}:{_scope(strategy, q.per, header, model, headers, query)}"
            r, t = counts.quota_add(key, window, 1, tokens)
            taken.append((key, tokens))
            over = ("requests" if q.rpm is not None and r > q.rpm else
                    "tokens" if q.tpm is not None and t > q.tpm else None)
            if over is not None:
                for k, n in taken:  # a refused request does not count
                    counts.quota_add(k, window, -1, -n)
                out = _headers(strategy, q, r - 1, t - tokens, reset, now)
                if over == "requests":
                    assert q.rpm is not None
                    error = _error(strategy, model, over, q.rpm, r - 1, 1, reset, out)
                else:
                    assert q.tpm is not None
                    error = _error(strategy, model, over, q.tpm, t - tokens, tokens, reset,
                                   out)
                return Verdict(out, error)
            if first is None:
                first = (q, r, t)
        if first is None:
            return None
        return Verdict(_headers(strategy, first[0], first[1], first[2], reset, now))


def _scope(provider: Provider, per: str, header: str, model: str,
           headers: dict[str, str], query: bytes) -> str:
    if per == "model":
        return model
    if per == "all":
        return "*"
    if per == "api_key":  # where the key is sent is the API's (Azure's api-key, Gemini's...)
        return provider.api_key(headers, query)
    return headers.get(header, "")


def _headers(provider: Provider, q: Quota, requests: int, tokens: int, reset: float,
             now: float) -> dict[str, str]:
    limits = [(kind, limit, used) for kind, limit, used in
              (("requests", q.rpm, requests), ("tokens", q.tpm, tokens)) if limit is not None]
    return provider.quota_headers(limits, reset, now)


def _error(provider: Provider, model: str, over: str, limit: int, used: int, requested: int,
           reset: float, headers: dict[str, str]) -> ApiError:
    wait = max(math.ceil(reset), 1)
    headers = {**headers, "retry-after": str(wait), "retry-after-ms": str(round(reset * 1000))}
    return provider.quota_error(model, over, limit, used, requested, reset, headers)
