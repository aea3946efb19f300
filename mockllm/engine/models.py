"""The model registry: ids and aliases to a canonical model, and its limits.

A request for an alias is answered as the canonical model (its id is what responses name),
the way the real APIs resolve ``gpt-4o`` to a dated snapshot.
"""

from __future__ import annotations

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError


class ModelRegistry:
    def __init__(self, models: list[ModelConfig]) -> None:
        self.models = list(models)
        self._by_name: dict[str, ModelConfig] = {}
        for m in self.models:
            self._by_name[m.id] = m
            for alias in m.aliases:
                self._by_name[alias] = m

    def get(self, name: str) -> ModelConfig | None:
        return self._by_name.get(name)

    def require(self, name: str) -> ModelConfig:
        """The canonical model for ``name``, or a 404 ``model_not_found``."""
        model = self._by_name.get(name)
        if model is None:
            raise ApiError(
                404,
                f"The model `{name}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return model
