"""The costly and pure part of a plan: tokenizing the prompt, making embedding vectors.

``Engine.plan`` does it itself for an ordinary request. For a large one the endpoint runs
``Engine.prepare`` first in a worker thread (``Endpoint.make_plan``) and the plan then reuses
what it measured, so a legal 8 MB prompt or 2,048 embedding inputs do not hold up the event
loop (``/health`` and every other request). What changes state (rule counters, quotas,
the journal) stays in ``plan``, on the loop: only pure work moves.
"""

from __future__ import annotations

from collections.abc import Sequence

from mockllm.engine import vectors
from mockllm.engine.request import Measured, NeutralRequest
from mockllm.engine.tokens import Tokenizer, count, count_texts


def is_embedding(req: NeutralRequest) -> bool:
    return bool(req.inputs) and not req.messages


def measure(req: NeutralRequest, tok: Tokenizer, prompt: str) -> Measured:
    """(prompt tokens, the longest single input's tokens) as the provider bills them."""
    if is_embedding(req):
        counts = [count(tok, t) for t in req.inputs]
        return Measured(sum(counts) + count(tok, req.query), max(counts, default=0))
    n = prompt_tokens_of(req, tok, prompt)
    return Measured(n, n)


def derived(req: NeutralRequest, dims: int, model: str) -> list[Sequence[float]]:
    """One derived vector per input (what an answer without ``embedding:`` sends), packed:
    2,048 inputs of 3,072 numbers as lists would be 6.3 M float objects (200 MB), which
    the collector's passes walk with the GIL held (0.24 s each, measured) and whose
    freeing alone took the loop 65 ms of CPU. A copy: the cached vector stays unchanged."""
    return [vectors.embed(t, dims, model)[:] for t in req.inputs]


def prompt_tokens_of(req: NeutralRequest, tok: Tokenizer, prompt: str | None) -> int:
    """The provider's bill when the endpoint built one (``req.billed``), else the text."""
    billed = req.billed
    if billed is None:
        return count(tok, req.prompt_text() if prompt is None else prompt)
    return billed.fixed + count_texts(tok, billed.texts)
