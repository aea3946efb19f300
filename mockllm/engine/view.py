"""``mockllm.RequestView``: the read-only request that rules, matchers, responders and
validators look at.

Derived values (the last user message, the system prompt, the decoded body) are computed at
most once per request and only when something asks, so a view costs one small object when
nothing looks.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mockllm.engine.request import Message, NeutralRequest, ToolDef

MISSING: Any = object()

_decode = msgspec.json.Decoder().decode


class RequestView:
    """One model request, provider-neutral, as plugins see it. Treat everything as read-only.

    ``model`` is the canonical model id (``requested_model`` what the client sent, perhaps an
    alias), ``endpoint`` the endpoint key (``openai.chat``), ``provider`` its family
    (``openai``), ``headers`` the request headers with lower-cased names, ``raw`` the decoded
    JSON body, and ``captures`` the named values matched so far (regex groups, plugin
    matchers' mappings) that templates can use.
    """

    __slots__ = ("_last_user", "_raw", "_system", "captures", "model_id", "req")

    def __init__(self, req: NeutralRequest, model_id: str = "") -> None:
        self.req = req
        #: The canonical id of the requested model (``req.model`` may be an alias).
        self.model_id = model_id
        self._last_user: str | None = None
        self._system: str | None = None
        self._raw: Any = MISSING
        self.captures: dict[str, str] = {}

    @property
    def model(self) -> str:
        """The canonical model id (an alias resolved)."""
        return self.model_id or self.req.model

    @property
    def requested_model(self) -> str:
        """The model name as the client sent it."""
        return self.req.model

    @property
    def endpoint(self) -> str:
        return self.req.endpoint

    @property
    def provider(self) -> str:
        return self.req.provider

    @property
    def messages(self) -> list[Message]:
        """Every turn: ``.role``, ``.text``, ``.tool_calls``, ``.tool_call_id``."""
        return self.req.messages

    @property
    def tools(self) -> list[ToolDef]:
        """The tools offered: ``.name``, ``.description``, ``.parameters`` (JSON schema)."""
        return self.req.tools

    @property
    def headers(self) -> dict[str, str]:
        return self.req.headers

    @property
    def stream(self) -> bool:
        return self.req.stream

    @property
    def raw(self) -> Any:
        """The JSON body as plain data: ``req.raw``, else ``req.body`` decoded once."""
        if self._raw is MISSING:
            raw = self.req.raw
            if raw is None and self.req.body:
                try:
                    raw = _decode(self.req.body)
                except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                    raw = None
            elif raw is not None and not isinstance(raw, (dict, list)):
                raw = msgspec.to_builtins(raw)
            self._raw = raw
        return self._raw

    @property
    def last_user(self) -> str:
        """The last user message's text (a ranking request's query)."""
        if self._last_user is None:
            self._last_user = self.req.last_user
        return self._last_user

    @property
    def system(self) -> str:
        """The system (and developer) messages' text, joined by newlines."""
        if self._system is None:
            self._system = self.req.system
        return self._system

    def __repr__(self) -> str:
        return f"RequestView({self.endpoint} model={self.model!r})"
