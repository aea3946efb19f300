"""Which OpenAI models reason when the request does not say, and how hard.

The o-series and the first GPT-5 models reason at ``medium`` effort by default; from
GPT-5.1 on the default effort is ``none`` (OpenAI's model pages), so they reason only when
``reasoning_effort`` (chat) or ``reasoning.effort`` (Responses) asks. Reasoning is never
shown in chat completions: it is counted as ``completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mockllm.engine.schema import ModelConfig

#: o1, o3, o4-mini, ... and gpt-5, gpt-5-mini, gpt-5-nano (not gpt-5.1 and later).
_MEDIUM_BY_DEFAULT = re.compile(r"^(o\d+(-|$)|gpt-5(-|$))")


def effort(model: ModelConfig, requested: str | None) -> str | None:
    """The effort this request reasons with, or None when it does not reason."""
    if requested is not None:
        return None if requested == "none" else requested
    return _default(model.id, model.provider)


@lru_cache(maxsize=1024)
def _default(model_id: str, provider: str) -> str | None:
    """Once per model: every chat request asks."""
    return "medium" if provider == "openai" and _MEDIUM_BY_DEFAULT.match(model_id) else None
