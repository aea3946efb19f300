"""Throwaway plugin: a matcher, two responders and a validator (mockllm_matchers,
mockllm_responders, mockllm_validators), written against the public ``mockllm`` names only."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mockllm import ConfigError, Reply, RequestView, hookimpl

_WORDS = {"negative": ("awful", "broken", "angry"), "positive": ("great", "thanks", "love")}
_SENTENCES = ("Lorem ipsum dolor sit amet.", "Sed do eiusmod tempor.", "Ut enim ad minim.")


def sentiment(value: Any) -> Callable[[RequestView], Any]:
    if value not in _WORDS:
        raise ConfigError(f"expected one of {', '.join(_WORDS)}, got {value!r}")
    words = _WORDS[value]

    def matcher(view: RequestView) -> Any:
        text = view.last_user.lower()
        found = [w for w in words if w in text]
        return {"mood_word": found[0]} if found else False

    return matcher


def lorem(value: Any) -> Callable[[RequestView, random.Random], str]:
    n = value.get("sentences", 1) if isinstance(value, dict) else value
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"sentences must be a whole number of at least 1, got {n!r}")

    def responder(view: RequestView, rng: random.Random) -> str:
        return " ".join(rng.choice(_SENTENCES) for _ in range(n))

    return responder


def forecast(value: Any) -> Callable[[RequestView, random.Random], Reply]:
    def responder(view: RequestView, rng: random.Random) -> Reply:
        city = view.last_user.rsplit(" ", 1)[-1].strip("?") or str(value)
        return Reply(text="Let me check.", reasoning="The user wants the weather.",
                     tool_calls=[{"name": "get_weather", "arguments": {"city": city}}])

    return responder


def broken(value: Any) -> Callable[[RequestView, random.Random], str]:
    def responder(view: RequestView, rng: random.Random) -> str:
        raise RuntimeError("responder bug")

    return responder


def no_secrets(view: RequestView) -> str | None:
    if "secret" in view.last_user.lower():
        return "acme: messages must not contain secrets"
    return None


@hookimpl
def mockllm_matchers() -> dict[str, Any]:
    return {"acme.sentiment": sentiment}


@hookimpl
def mockllm_responders() -> dict[str, Any]:
    return {"acme.lorem": lorem, "acme.forecast": forecast, "acme.broken": broken}


@hookimpl
def mockllm_validators() -> dict[str, Any]:
    return {"acme.no_secrets": no_secrets}
