"""A plugin matcher and responder for the plugin-overhead benchmark (docs/performance.md).

``benchmarks/plugin_rules.yaml`` answers chat through them; ``builtin_rules.yaml`` gives the
same answer with builtin ``last_user`` and ``text``, so the two runs differ only in who
matches and who answers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mockllm import RequestView, hookimpl


def contains(value: Any) -> Callable[[RequestView], bool]:
    word = str(value).casefold()
    return lambda view: word in view.last_user.casefold()


def fixed(value: Any) -> Callable[[RequestView, random.Random], str]:
    text = str(value)
    return lambda view, rng: text


@hookimpl
def mockllm_matchers() -> dict[str, Any]:
    return {"bench.contains": contains}


@hookimpl
def mockllm_responders() -> dict[str, Any]:
    return {"bench.fixed": fixed}
