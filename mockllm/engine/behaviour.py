"""What a model does on its own, when no rule says otherwise (docs/config.md, "Model
behaviour").

- Which tools an answer calls: ``tool_choice`` (``none``, ``auto``, ``required``, one named
  tool), ``parallel_tool_calls`` and ``defaults.tools``.
- How long generated text runs before the model stops by itself (a natural length).
- How long it thinks when the request asks for reasoning, within the thinking budget.

Every decision is a pure function of the request and the seed: a test that runs again gets
the same answer. Nothing here runs for a request without tools or reasoning, so plain chat
keeps its short path.
"""

from __future__ import annotations

from functools import lru_cache

import msgspec

from mockllm.engine import jsonschema
from mockllm.engine.request import NeutralRequest, ToolDef
from mockllm.engine.schema import Count, ToolsDefaults
from mockllm.errors import ApiError

_json = msgspec.json.Encoder()

#: A natural answer: long-tailed between these (most answers short, a few long).
NATURAL_TOKENS = (12, 400)

#: Reasoning length by effort, as (fewest, most) tokens; ``None`` is the provider's default.
_EFFORT = {
    "none": (0, 0),
    "minimal": (8, 48),
    "low": (48, 320),
    "medium": (128, 1024),
    "high": (384, 2048),
    "xhigh": (768, 4096),
    "max": (1024, 8192),
}
_DEFAULT_EFFORT = "medium"

_MASK = (1 << 64) - 1


def unit(seed: int, salt: int) -> float:
    """A number in [0, 1) fixed by ``seed``: splitmix64, far cheaper than ``random.Random``
    on every request's path."""
    x = (seed ^ salt) * 0x9E3779B97F4A7C15 & _MASK
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return ((x ^ (x >> 31)) >> 11) / float(1 << 53)


def _between(lo: int, hi: int, u: float) -> int:
    """Log-uniform in [lo, hi]: as many answers of 10-20 tokens as of 100-200."""
    if hi <= lo:
        return max(lo, 0)
    return min(hi, max(lo, int((lo + 1) * ((hi + 1) / (lo + 1)) ** u + 0.5) - 1))


def natural_length(tokens: int | Count | None, seed: int) -> int:
    """Tokens a generated answer runs to before it ends by itself (``generate.tokens``)."""
    if isinstance(tokens, int):
        return tokens
    if tokens is None:  # the embedded defaults: every plain request asks
        return _natural_default(seed)
    lo, hi = NATURAL_TOKENS
    lo = tokens.min if tokens.min is not None else min(lo, tokens.max or lo)
    hi = tokens.max if tokens.max is not None else max(hi, lo)
    return _between(lo, hi, unit(seed, 0x5709))


@lru_cache(maxsize=4096)
def _natural_default(seed: int) -> int:
    """:func:`natural_length` with no ``tokens``: a load test repeats its prompts (so seeds),
    and the C cache answers those without the hash and the power."""
    return _between(*NATURAL_TOKENS, unit(seed, 0x5709))


def reasoning_length(req: NeutralRequest, seed: int) -> int:
    """Thinking tokens for a request that asks to reason, never above its budget."""
    lo, hi = _EFFORT.get(req.reasoning_effort or _DEFAULT_EFFORT, _EFFORT[_DEFAULT_EFFORT])
    budget = req.thinking_budget
    if budget is not None:
        # A budget is an upper bound the model mostly stays well inside.
        lo, hi = min(lo, budget), min(max(hi, budget // 2), budget)
    return _between(lo, hi, unit(seed, 0x7E1A))


class Behaviour:
    """``defaults.tools`` compiled once; :meth:`tools` runs only for requests with tools."""

    __slots__ = ("auto_call", "parallel")

    def __init__(self, spec: ToolsDefaults) -> None:
        self.auto_call = spec.auto == "call"  # unset: the API decides (the endpoint)
        self.parallel = max(spec.parallel, 1)

    def tools(self, req: NeutralRequest) -> list[ToolDef]:
        """The tools this answer calls ([] for a text answer).

        A named ``tool_choice`` is always obeyed. ``required`` calls a tool: after a tool
        result, the first one not yet called in this turn, so a forced loop moves on to the
        next tool (pydantic-ai's output tool comes after the function tools). ``auto`` answers
        text, or with ``defaults.tools.auto: call`` calls while the last message is not a tool
        result, so agent loops end. With parallel calls allowed, up to
        ``defaults.tools.parallel`` different tools are called at once.
        """
        offered = req.tools
        if not offered or req.tool_choice == "none":
            return []
        if req.tool_name is not None:
            return [t for t in offered if t.name == req.tool_name][:1]
        after_result = bool(req.messages) and req.messages[-1].role == "tool"
        if req.tool_choice == "required":
            order = _not_called_first(req, offered) if after_result else offered
        elif self.auto_call and not after_result:
            order = offered
        else:
            return []
        return list(order[: self.parallel if req.parallel_tool_calls else 1])


def _not_called_first(req: NeutralRequest, offered: list[ToolDef]) -> list[ToolDef]:
    """``offered`` with the tools called since the last user message moved to the end."""
    called: set[str] = set()
    for m in reversed(req.messages):
        if m.role == "user":
            break
        called.update(tc.name for tc in m.tool_calls)
    fresh = [t for t in offered if t.name not in called]
    return fresh + [t for t in offered if t.name in called]


def arguments(tool: ToolDef, seed: int) -> str:
    """JSON arguments valid against ``tool``'s schema, fixed by ``seed`` (400 if unusable)."""
    if not tool.parameters:
        return "{}"
    try:
        return _json.encode(jsonschema.instance(tool.parameters, seed)).decode()
    except jsonschema.SchemaError as exc:
        raise ApiError(400, f"Invalid schema for function '{tool.name}': {exc}",
                       param="tools") from None
