"""A Converse request to the engine's NeutralRequest, checked the way Bedrock checks it.

``modelId`` resolves to a registry model of provider ``bedrock``: the id itself, an alias,
an ARN (``arn:aws:bedrock:REGION::foundation-model/ID`` or ``...:inference-profile/ID``), or
a cross-Region inference profile id (``us.``, ``eu.``, ``apac.``, ``global.``... before the
model id). Messages, system blocks, tools and ``toolChoice``, ``inferenceConfig``,
``outputConfig.textFormat`` (structured output) and the reasoning fields of
``additionalModelRequestFields`` (Claude's ``thinking``, Nova's ``reasoningConfig``) become
the NeutralRequest fields the engine obeys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from mockllm.engine.models import ModelRegistry
from mockllm.engine.request import Message, NeutralRequest, ToolCallIn, ToolDef
from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from plugins_builtin.bedrock import reasoning, usage
from plugins_builtin.bedrock.wire import (
    OPAQUE_BLOCKS,
    ContentBlock,
    ConverseRequest,
    ToolConfig,
    ToolResultBlock,
    encoder,
)

#: The geography prefixes of cross-Region inference profiles.
GEOGRAPHIES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")
_ID = re.compile(r"[a-zA-Z0-9._:/-]{1,2048}")
_ARN = re.compile(r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{0,12}:([a-z-]+)/(.+)")
_BLOCK_MEMBERS = ("text", *OPAQUE_BLOCKS, "tool_use", "tool_result", "reasoning_content")
_generic = msgspec.json.Decoder()


def validation(message: str) -> ApiError:
    return ApiError(400, message)


def constraint(where: str, value: object, rule: str) -> ApiError:
    """AWS's wording of a member that breaks its shape's constraint."""
    return validation(f"1 validation error detected: Value '{value}' at '{where}' failed to "
                      f"satisfy constraint: Member must {rule}")


def resolve_model(models: ModelRegistry, model_id: str) -> ModelConfig:
    """The registry model ``model_id`` names (any of the forms in the module docstring)."""
    if not _ID.fullmatch(model_id):
        raise constraint("modelId", model_id, "satisfy regular expression pattern: "
                                              "[a-zA-Z0-9._:/-]{1,2048}")
    names = [model_id]
    arn = _ARN.fullmatch(model_id)
    if arn is not None:
        if arn.group(2) not in ("foundation-model", "inference-profile",
                                "application-inference-profile"):
            names = []  # a provisioned or custom model: none is in the registry
        else:
            names.append(arn.group(3))
    for name in list(names):
        geo, dot, rest = name.partition(".")
        if dot and geo in GEOGRAPHIES:
            names.append(rest)
    for name in names:
        model = models.get(name)
        if model is not None:
            if model.provider != "bedrock":
                raise validation("The provided model identifier is invalid.")
            return model
    raise ApiError(404, "Could not resolve the foundation model from the provided model "
                        "identifier.")


def to_neutral(req: ConverseRequest, endpoint: str, model: ModelConfig,
               headers: Mapping[str, str], stream: bool) -> NeutralRequest:
    """The NeutralRequest of ``req`` for ``model``; raises the 400s the service gives."""
    inference = req.inference_config
    max_tokens = inference.max_tokens if inference is not None else None
    if max_tokens is not None and max_tokens < 1:
        raise constraint("inferenceConfig.maxTokens", max_tokens,
                         "have value greater than or equal to 1")
    for name in ("temperature", "top_p"):
        value = getattr(inference, name, None) if inference is not None else None
        if value is not None and not 0 <= value <= 1:
            where = "inferenceConfig." + ("topP" if name == "top_p" else name)
            raise constraint(where, value, "have value less than or equal to 1 and greater "
                                           "than or equal to 0")
    tools = _tools(req.tool_config)
    neutral = NeutralRequest(
        endpoint=endpoint,
        provider="bedrock",
        model=model.id,
        messages=_messages(req, tools is not None),
        tools=tools or [],
        max_tokens=max_tokens,
        stop=[s for s in (inference.stop_sequences or ()) if s] if inference else [],
        stream=stream,
        headers=dict(headers),
        billed=usage.bill(req, model),
    )
    reasoning.apply(neutral, req, model)
    if req.tool_config is not None:
        _tool_choice(neutral, req.tool_config, model)
    _text_format(neutral, req, model)
    return neutral


def _tools(config: ToolConfig | None) -> list[ToolDef] | None:
    if config is None:
        return None
    if not config.tools:
        raise constraint("toolConfig.tools", "[]", "have length greater than or equal to 1")
    out: list[ToolDef] = []
    for i, tool in enumerate(config.tools):
        spec = tool.tool_spec
        if spec is None:
            continue  # a cachePoint or a systemTool: nothing the engine calls
        if not spec.name or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", spec.name):
            raise constraint(f"toolConfig.tools.{i + 1}.member.toolSpec.name", spec.name,
                             "satisfy regular expression pattern: [a-zA-Z0-9_-]+")
        schema = spec.input_schema.json if spec.input_schema is not None else None
        if not isinstance(schema, dict):
            raise validation(f"The json field of toolConfig.tools.{i}.toolSpec.inputSchema "
                             "must be a JSON object schema.")
        out.append(ToolDef(spec.name, spec.description or "", schema))
    return out


def _tool_choice(neutral: NeutralRequest, config: ToolConfig, model: ModelConfig) -> None:
    """``auto`` leaves it to the model; ``any`` forces some tool; ``tool`` forces that one."""
    choice = config.tool_choice
    if choice is None or choice.auto is not None:
        return
    kind = "tool" if choice.tool is not None else "any" if choice.any is not None else None
    if kind is None:
        raise validation("toolConfig.toolChoice must set one of auto, any or tool.")
    caps = model.capabilities
    if caps is not None and not caps.forced_tools:
        raise validation(f"This model doesn't support the toolConfig.toolChoice.{kind} field. "
                         f"Remove toolConfig.toolChoice.{kind} and try again.")
    if neutral.thinking:
        raise validation("The model returned the following errors: Thinking may not be "
                         "enabled when tool_choice forces tool use.")
    if choice.tool is not None:
        name = choice.tool.name
        if not any(t.name == name for t in neutral.tools):
            raise validation(f"The tool {name} specified in toolConfig.toolChoice.tool.name "
                             "was not found in toolConfig.tools.")
        neutral.tool_choice, neutral.tool_name = "required", name
    else:
        neutral.tool_choice = "required"


def _text_format(neutral: NeutralRequest, req: ConverseRequest, model: ModelConfig) -> None:
    fmt = req.output_config.text_format if req.output_config is not None else None
    if fmt is None:
        return
    if fmt.type != "json_schema":
        raise constraint("outputConfig.textFormat.type", fmt.type,
                         "satisfy enum value set: [json_schema]")
    definition = fmt.structure.json_schema if fmt.structure is not None else None
    if definition is None or definition.schema is None:
        raise validation("outputConfig.textFormat.structure.jsonSchema.schema is required.")
    caps = model.capabilities
    if caps is not None and not caps.structured_output:
        raise validation("This model doesn't support the outputConfig.textFormat field. "
                         "Remove outputConfig.textFormat and try again.")
    try:
        schema = _generic.decode(definition.schema)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise validation(f"The JSON schema in outputConfig.textFormat is not valid JSON: "
                         f"{exc}") from None
    if not isinstance(schema, dict):
        raise validation("The JSON schema in outputConfig.textFormat must be an object.")
    neutral.response_format, neutral.json_schema = "json_schema", schema


def _messages(req: ConverseRequest, has_tools: bool) -> list[Message]:
    out: list[Message] = []
    system = [b.text for b in req.system or () if b.text]
    if system:
        out.append(Message("system", "\n".join(system)))
    if req.messages is None:
        raise constraint("messages", "null", "not be null")
    if not req.messages or req.messages[0].role != "user":
        raise validation("A conversation must start with a user message. Try again with a "
                         "conversation that starts with a user message.")
    previous_uses = 0
    for i, m in enumerate(req.messages):
        if m.role not in ("user", "assistant"):
            raise constraint(f"messages.{i + 1}.member.role", m.role,
                             "satisfy enum value set: [user, assistant]")
        if i and m.role == req.messages[i - 1].role:
            raise validation("A conversation must alternate between user and assistant roles. "
                             "Make sure the conversation alternates between user and "
                             "assistant roles and try again.")
        if not m.content:
            raise validation(f"The content field in the Message object at messages.{i} is "
                             "empty. Add a ContentBlock object to the content field and try "
                             "again.")
        for j, block in enumerate(m.content):
            _check_block(block, i, j, has_tools)
        if m.role == "assistant":
            out.append(_assistant(m.content))
            previous_uses = sum(b.tool_use is not None for b in m.content)
        else:
            results = sum(b.tool_result is not None for b in m.content)
            if results > previous_uses:
                raise validation(f"The number of toolResult blocks at messages.{i}.content "
                                 "exceeds the number of toolUse blocks of previous turn.")
            out.extend(_user(m.content))
            previous_uses = 0
    return out


def _check_block(block: ContentBlock, i: int, j: int, has_tools: bool) -> None:
    set_members = [n for n in _BLOCK_MEMBERS if getattr(block, n) is not None]
    if len(set_members) != 1:
        raise validation(f"The ContentBlock at messages.{i}.content.{j} must set exactly one "
                         f"member; it sets {len(set_members)}.")
    if (block.tool_use is not None or block.tool_result is not None) and not has_tools:
        raise validation("The toolConfig field must be defined when using toolUse and "
                         "toolResult content blocks.")
    if block.tool_use is not None and not (block.tool_use.tool_use_id and block.tool_use.name):
        raise validation(f"The toolUse block at messages.{i}.content.{j} needs a toolUseId "
                         "and a name.")
    if block.tool_result is not None and not block.tool_result.tool_use_id:
        raise validation(f"The toolResult block at messages.{i}.content.{j} needs a "
                         "toolUseId.")


def _assistant(blocks: list[ContentBlock]) -> Message:
    calls = [ToolCallIn(b.tool_use.tool_use_id or "", b.tool_use.name or "",
                        encoder.encode(b.tool_use.input or {}).decode())
             for b in blocks if b.tool_use is not None]
    return Message("assistant", "\n".join(b.text for b in blocks if b.text), tool_calls=calls)


def _user(blocks: list[ContentBlock]) -> list[Message]:
    """Tool results become ``tool`` messages after any text of the turn, so rules see "the
    last message is a tool result" for the whole turn."""
    texts = [b.text for b in blocks if b.text]
    tools = [Message("tool", _result_text(r), tool_call_id=r.tool_use_id)
             for r in (b.tool_result for b in blocks) if r is not None]
    if texts or not tools:
        return [Message("user", "\n".join(texts)), *tools]
    return tools


def _result_text(result: ToolResultBlock) -> str:
    parts: list[str] = []
    for c in result.content or ():
        if c.text:
            parts.append(c.text)
        elif c.json is not None:
            parts.append(encoder.encode(c.json).decode())
    return "\n".join(parts)
