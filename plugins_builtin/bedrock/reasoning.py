"""Reasoning asked through ``additionalModelRequestFields``, the way each model family on
Bedrock takes it: Claude's ``thinking`` (``enabled`` with ``budget_tokens``, ``adaptive``,
``disabled``; older AWS examples call it ``reasoning_config``) and Amazon Nova's
``reasoningConfig`` (``type: enabled`` with ``maxReasoningEffort``). The answer then carries
``reasoningContent`` blocks. Other families ignore these fields.

A model's ``capabilities.thinking`` in the registry lists the ``thinking.type`` values it
accepts; Bedrock relays the model's own 400 as "The model returned the following errors: ...".
"""

from __future__ import annotations

from typing import Any

from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from plugins_builtin.bedrock import usage
from plugins_builtin.bedrock.wire import ConverseRequest

_MIN_BUDGET = 1024
_NOVA_EFFORTS = ("low", "medium", "high")


def _model_error(message: str) -> ApiError:
    return ApiError(400, f"The model returned the following errors: {message}")


def fields(req: ConverseRequest) -> dict[str, Any]:
    value = req.additional_model_request_fields
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, "The additionalModelRequestFields field must be a JSON object.")
    return value


def apply(neutral: NeutralRequest, req: ConverseRequest, model: ModelConfig) -> None:
    """Set ``thinking``, its budget and effort on ``neutral`` from the request's fields."""
    extra = fields(req)
    family = usage.family(model)
    if family == "anthropic":
        _claude(neutral, req, extra, model)
    elif family == "amazon" and "reasoningConfig" in extra:
        _nova(neutral, extra["reasoningConfig"])


def _claude(neutral: NeutralRequest, req: ConverseRequest, extra: dict[str, Any],
            model: ModelConfig) -> None:
    key = "thinking" if "thinking" in extra else "reasoning_config"
    config = extra.get(key)
    if config is None:
        return
    if not isinstance(config, dict):
        raise _model_error(f"{key}: Input should be an object")
    kind = config.get("type")
    if kind not in ("enabled", "adaptive", "between_tools", "disabled"):
        raise _model_error(f"{key}: Input tag '{kind}' found using 'type' does not match any "
                           "of the expected tags: 'adaptive', 'between_tools', 'disabled', "
                           "'enabled'")
    caps = model.capabilities
    if caps is not None and caps.thinking is not None and kind not in caps.thinking:
        raise _model_error(f'"thinking.type.{kind}" is not supported for this model. Use '
                           '"thinking.type.adaptive" and "output_config.effort" to control '
                           "thinking behavior.")
    if kind == "disabled":
        return
    budget = config.get("budget_tokens")
    if kind == "enabled":
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise _model_error(f"{key}.enabled.budget_tokens: Field required")
        if budget < _MIN_BUDGET:
            raise _model_error(f"{key}.enabled.budget_tokens: Input should be greater than or "
                               f"equal to {_MIN_BUDGET}")
        if neutral.max_tokens is not None and budget >= neutral.max_tokens:
            raise _model_error("`max_tokens` must be greater than `thinking.budget_tokens`.")
    neutral.thinking = True
    neutral.thinking_budget = budget if kind == "enabled" else None
    effort = req.output_config.effort if req.output_config is not None else None
    output = extra.get("output_config")
    if effort is None and isinstance(output, dict):
        effort = output.get("effort")
    if effort is not None:
        if caps is not None and caps.reasoning_efforts is not None \
                and effort not in caps.reasoning_efforts:
            allowed = ", ".join(f"'{e}'" for e in caps.reasoning_efforts)
            raise _model_error(f"output_config.effort: Input should be {allowed}")
        neutral.reasoning_effort = str(effort)


def _nova(neutral: NeutralRequest, config: Any) -> None:
    if not isinstance(config, dict) or config.get("type") not in ("enabled", "disabled"):
        raise _model_error("reasoningConfig.type must be 'enabled' or 'disabled'.")
    if config["type"] == "disabled":
        return
    effort = config.get("maxReasoningEffort", "low")
    if effort not in _NOVA_EFFORTS:
        raise _model_error("reasoningConfig.maxReasoningEffort must be one of 'low', "
                           "'medium', 'high'.")
    neutral.thinking = True
    neutral.reasoning_effort = str(effort)
