"""The errors of ``server.limits``: work one request may not ask for (config_schema.Limits).

The engine checks each limit before it starts the work (prompt size before tokenizing) or
while doing it (generated tokens, choice by choice), so a refused request costs little.
"""

from __future__ import annotations

from mockllm.config_schema import Limits
from mockllm.engine.request import NeutralRequest
from mockllm.errors import ApiError


def prompt_error(req: NeutralRequest, texts: list[str], bounds: Limits) -> ApiError | None:
    """413 for a prompt longer than ``server.limits.prompt_bytes`` (tokenizing 30 MB takes
    seconds), measured before any tokenizing: characters first, UTF-8 bytes when close."""
    limit = bounds.prompt_bytes
    if req.billed is not None:
        texts = req.billed.texts
    size = sum(map(len, texts))
    if limit < size * 4:  # a character is at most 4 bytes: only then are bytes worth counting
        size = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    if size <= limit:
        return None
    return ApiError(413, f"The prompt is {size} bytes; this server tokenizes at most {limit} "
                         "(server.limits.prompt_bytes).")


def output_error(req: NeutralRequest, tokens: int, bounds: Limits) -> ApiError | None:
    """400 for an answer of more than ``generated_tokens`` tokens, or of more than
    ``logprob_entries`` log-probabilities when the request asks for them."""
    if tokens > bounds.generated_tokens:
        return too_many_tokens(bounds.generated_tokens)
    if req.logprobs and tokens * max(req.top_logprobs, 1) > bounds.logprob_entries:
        return too_many_logprobs(tokens, req.top_logprobs, bounds.logprob_entries)
    return None


def too_many_tokens(limit: int) -> ApiError:
    return ApiError(400, f"This request would generate more than {limit} tokens over all its "
                         "choices (server.limits.generated_tokens): lower 'n' or "
                         "'max_tokens'.", param="n")


def too_many_logprobs(tokens: int, top: int, limit: int) -> ApiError:
    return ApiError(400, f"This request asks for {tokens} tokens x {max(top, 1)} logprobs, "
                         f"more than the {limit} this server builds "
                         "(server.limits.logprob_entries): lower 'top_logprobs', 'n' or "
                         "'max_tokens'.", param="top_logprobs")
