"""What a Claude model refuses, from its ``capabilities`` in the registry (docs/models.md).

The messages follow the ones Anthropic's model pages quote: Claude Opus 5.5 answers
``thinking: {type: "disabled"}`` or ``"enabled"`` with ``"thinking.type.disabled" is not
supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control
thinking behavior.`` Claude Sonnet 5.5's page says its 400 for ``disabled`` points to
``between_tools``; the forced-tool and vision messages are worded the same way, since the
pages found do not quote them.
"""

from __future__ import annotations

from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from plugins_builtin.anthropic.wire import Block, MessagesRequest

_CONTROL = 'Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'


def check(req: MessagesRequest, model: ModelConfig) -> None:
    """Raise the 400 the real model gives for a request it does not accept."""
    caps = model.capabilities
    if caps is None:
        return
    thinking = req.thinking.type if req.thinking is not None else None
    if thinking is not None and caps.thinking is not None and thinking not in caps.thinking:
        hint = _CONTROL
        if thinking == "disabled" and "between_tools" in caps.thinking:
            hint = ('Use "thinking.type.between_tools" to turn off up-front thinking, or '
                    '"thinking.type.adaptive" and "output_config.effort" to control thinking '
                    "behavior.")
        raise ApiError(400, f'"thinking.type.{thinking}" is not supported for this model. '
                            + hint)
    effort = req.output_config.effort if req.output_config is not None else None
    if thinking == "between_tools" and effort in ("xhigh", "max"):
        # Sonnet 5.5's page: between_tools runs at low, medium and high effort only.
        raise ApiError(400, f'"thinking.type.between_tools" is not supported with effort '
                            f'"{effort}". Use "thinking.type.adaptive" to run at "xhigh" or '
                            '"max".')
    choice = (req.tool_choice or {}).get("type")
    if not caps.forced_tools and choice in ("any", "tool"):
        raise ApiError(400, f'"tool_choice.type.{choice}" is not supported for this model. '
                            'Use "tool_choice.type.auto" or "tool_choice.type.none"; forced '
                            "tool use is not available on this model.")
    if effort is not None and caps.reasoning_efforts is not None \
            and effort not in caps.reasoning_efforts:
        allowed = ", ".join(f"'{e}'" for e in caps.reasoning_efforts)
        raise ApiError(400, f"output_config.effort: Input should be {allowed}")
    fmt = req.output_config.format if req.output_config is not None else None
    if not caps.structured_output and (fmt is not None or req.output_format is not None):
        raise ApiError(400, f"output_config.format: structured outputs are not supported by "
                            f"{model.id}")
    if not caps.vision:
        for i, m in enumerate(req.messages):
            if not isinstance(m.content, str) and _has_image(m.content):
                raise ApiError(400, f"messages.{i}.content: image input is not supported by "
                                    f"{model.id}")


def _has_image(blocks: list[Block]) -> bool:
    for b in blocks:
        if b.type == "image":
            return True
        if b.type == "tool_result" and isinstance(b.content, list) and _has_image(b.content):
            return True
    return False
