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


def context_error(provider: str, model: ModelConfig, prompt_tokens: int) -> ApiError:
    """The provider's 400 for a prompt over the context window."""
    if provider == "anthropic":
        return ApiError(400, f"prompt is too long: {prompt_tokens} tokens > "
                             f"{model.context_window} maximum")
    if provider == "gemini":
        return ApiError(400, f"The input token count ({prompt_tokens}) exceeds the maximum "
                             f"number of tokens allowed ({model.context_window}).")
    return ApiError(
        400,
        f"This model's maximum context length is {model.context_window} tokens. However, "
        f"your messages resulted in {prompt_tokens} tokens. Please reduce the length of the "
        "messages.",
        param="messages",
        code="context_length_exceeded",
    )


def max_tokens_error(provider: str, model: ModelConfig, asked: int) -> ApiError:
    """The provider's 400 for ``max_tokens`` above the model's output limit."""
    if provider == "anthropic":
        return ApiError(400, f"max_tokens: {asked} > {model.max_output_tokens}, which is the "
                             f"maximum allowed number of output tokens for {model.id}")
    if provider == "gemini":
        return ApiError(400, f"Unable to submit request because it has a maxOutputTokens value "
                             f"of {asked} but the supported range is from 1 (inclusive) to "
                             f"{model.max_output_tokens + 1} (exclusive). Update the value and "
                             "try again.")
    return ApiError(
        400,
        f"max_tokens is too large: {asked}. This model supports at most "
        f"{model.max_output_tokens} completion tokens, whereas you provided {asked}.",
        param="max_tokens",
        code="invalid_value",
    )
