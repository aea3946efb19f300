"""What an OpenAI model refuses, from its ``capabilities`` in the registry (docs/models.md).

Errors are worded as the API words an unsupported value ("Unsupported value:
'reasoning_effort' does not support 'none' with this model. Supported values are: ...",
code ``unsupported_value``): GPT-6.2 Sol's model page says the API rejects reasoning effort
``none``.
"""

from __future__ import annotations

from mockllm.engine.schema import ModelConfig

from . import errors


def _listing(values: list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def check_effort(model: ModelConfig, effort: str | None, param: str) -> None:
    caps = model.capabilities
    if effort is None or caps is None or caps.reasoning_efforts is None:
        return
    if effort not in caps.reasoning_efforts:
        raise errors.invalid(param, f"Unsupported value: '{param}' does not support "
                             f"'{effort}' with this model. Supported values are: "
                             f"{_listing(caps.reasoning_efforts)}.", "unsupported_value")


def check_forced(model: ModelConfig, forced: bool, param: str = "tool_choice") -> None:
    caps = model.capabilities
    if forced and caps is not None and not caps.forced_tools:
        raise errors.invalid(param, f"Unsupported value: '{param}' does not support forcing "
                             "a tool with this model. Supported values are: 'auto' and "
                             "'none'.", "unsupported_value")


def check_format(model: ModelConfig, asked: bool, param: str) -> None:
    caps = model.capabilities
    if asked and caps is not None and not caps.structured_output:
        raise errors.invalid(param, f"Invalid parameter: '{param}' of type 'json_schema' is "
                             "not supported with this model.", "unsupported_parameter")


def check_vision(model: ModelConfig, has_image: bool, param: str, kind: str = "image_url"
                 ) -> None:
    """OpenAI's words for an image to a model without vision (as GPT-3.5 answers it);
    ``kind`` is the part type sent (``image_url`` in chat, ``input_image`` in Responses)."""
    caps = model.capabilities
    if has_image and caps is not None and not caps.vision:
        raise errors.invalid(param, f"Invalid content type. {kind} is only supported by "
                             "certain models.", None)
