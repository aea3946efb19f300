"""The values ``{name}`` templates render with: built on first use, once per choice."""

from __future__ import annotations

from collections.abc import Mapping

from mockllm.engine.matching import RequestView
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import ModelConfig


def no_values(index: int) -> Mapping[str, str]:
    raise AssertionError("an answer without templates asked for template values")


class TemplateValues:
    """Template values, built on first use and once per choice index."""

    __slots__ = ("_base", "_counter", "_model", "_req", "_rule", "_view")

    def __init__(self, req: NeutralRequest, view: RequestView, model: ModelConfig,
                 rule: str | None, counter: int) -> None:
        self._req, self._view, self._model, self._rule = req, view, model, rule
        self._counter = counter
        self._base: dict[str, str] | None = None

    def __call__(self, index: int) -> Mapping[str, str]:
        if self._base is None:
            req, view = self._req, self._view
            self._base = {
                "model": self._model.id,
                "requested_model": req.model,
                "endpoint": req.endpoint,
                "provider": req.provider,
                "rule": self._rule or "defaults",
                "counter": str(self._counter),
                "last_user": view.last_user,
                "last_message": req.messages[-1].text if req.messages else "",
                "system": view.system,
                "message_count": str(len(req.messages)),
                **view.captures,
            }
        if index == 0:
            return {**self._base, "choice": "0"}
        return {**self._base, "choice": str(index)}
