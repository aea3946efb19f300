"""``mockllm.Reply``: what a plugin responder may return instead of a plain ``str``."""

from __future__ import annotations

from typing import Any

import msgspec


class Reply(msgspec.Struct, kw_only=True):
    """An answer from a ``mockllm_responders`` responder.

    ``text`` is the message text; ``tool_calls`` are ``{"name": ..., "arguments": {...}}``
    as in a config's ``respond.tool_calls`` (``arguments`` may also be JSON text, or left out
    to have it generated from the offered tool's schema); ``reasoning`` is the thinking text,
    sent when the request asks for reasoning. The engine still cuts it into tokens, applies
    ``max_tokens`` and ``stop``, counts usage, paces it and renders it for every API.
    """

    text: str | None = None
    tool_calls: list[dict[str, Any]] = msgspec.field(default_factory=list)
    reasoning: str | None = None
