"""Which OpenAI models reason when the request does not say, and how hard.

The o-series and the first GPT-5 models reason at ``medium`` effort by default; from
GPT-5.1 on the default effort is ``none`` (OpenAI's model pages), so they reason only when
``reasoning_effort`` (chat) or ``reasoning.effort`` (Responses) asks. GPT-6 Astra, Sol and
Luna default to ``medium`` again (docs.litellm.ai's GPT-6 Sol/Luna note: "reasoning effort
from none to max, defaulting to medium"), and a model that refuses ``none`` (its registry
``reasoning_efforts`` lacks it, as GPT-6.2 Sol's page says) cannot but reason. Reasoning is never
shown in chat completions: it is counted as ``completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mockllm.engine.schema import ModelConfig

#: o1, o3, o4-mini, ... gpt-5, gpt-5-mini, gpt-5-nano (not gpt-5.1 and later) and
#: gpt-6-astra, gpt-6-sol, gpt-6-luna.
_MEDIUM_BY_DEFAULT = re.compile(r"^(o\d+(-|$)|gpt-[56](-|$))")


def effort(model: ModelConfig, requested: str | None) -> str | None:
    """The effort this request reasons with, or None when it does not reason."""
    if requested is not None:
        return None if requested == "none" else requested
    caps = model.capabilities
    efforts = caps.reasoning_efforts if caps is not None else None
    always = efforts is not None and "none" not in efforts and "medium" in efforts
    return _default(model.id, model.provider, always)


@lru_cache(maxsize=1024)
def _default(model_id: str, provider: str, always: bool) -> str | None:
    """Once per model: every chat request asks."""
    if provider != "openai":
        return None
    return "medium" if always or _MEDIUM_BY_DEFAULT.match(model_id) else None
