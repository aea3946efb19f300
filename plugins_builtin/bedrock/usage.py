"""Input tokens of a Converse request to Claude, as the Anthropic API bills them.

Bedrock runs Claude behind Converse and reports the model's own count, so a conversation costs
the same ``inputTokens`` here as ``input_tokens`` on Anthropic's Messages API. The Claude
template (role markers per turn, reply priming, the tool-use system prompt, images by
``width * height / 750``) is Anthropic's knowledge and stays in
:mod:`plugins_builtin.anthropic.usage`; this module only maps Converse's blocks onto it. Other
families (Nova, Llama) keep the engine's plain count of the text: their templates are not
modelled.
"""

from __future__ import annotations

from typing import Any

from mockllm.engine.request import Billed
from mockllm.engine.schema import ModelConfig
from plugins_builtin.anthropic import usage as claude
from plugins_builtin.bedrock.wire import ContentBlock, ConverseRequest, ToolResultContent, encoder


def family(model: ModelConfig) -> str:
    """The model family of a Bedrock id: ``anthropic`` for ``anthropic.claude-...``."""
    return model.id.split(".", 1)[0]


def bill(req: ConverseRequest, model: ModelConfig) -> Billed | None:
    """The Claude bill of ``req`` (None for a family whose template is not modelled)."""
    if family(model) != "anthropic":
        return None
    texts = [b.text for b in req.system or () if b.text]
    messages = req.messages or []
    fixed = claude.template(len(messages), bool(texts))
    for m in messages:
        for block in m.content or ():
            fixed += _block(block, texts)
    config = req.tool_config
    specs = [t.tool_spec for t in (config.tools or ()) if t.tool_spec is not None] if config else []
    if specs:
        choice = config.tool_choice if config is not None else None
        kind = "auto" if choice is None or choice.auto is not None else "any"
        fixed += claude.tools_overhead(kind)
        texts.extend(claude.tool_text(s.name or "", s.description,
                                      s.input_schema.json if s.input_schema else None)
                     for s in specs)
    return Billed(texts, fixed)


def _image(image: dict[str, Any]) -> int:
    """boto3 sends an image's ``bytes`` base64-encoded; an ``s3Location`` is never fetched."""
    data = (image.get("source") or {}).get("bytes") if isinstance(image, dict) else None
    return claude.base64_image_tokens(data if isinstance(data, str) else None)


def _block(block: ContentBlock, texts: list[str]) -> int:
    """Adds the block's text to ``texts``; returns its images' tokens."""
    if block.text:
        texts.append(block.text)
    elif block.image is not None:
        return _image(block.image)
    elif block.tool_use is not None:
        texts += (block.tool_use.name or "", encoder.encode(block.tool_use.input or {}).decode())
    elif block.tool_result is not None:
        return sum(_result(c, texts) for c in block.tool_result.content or ())
    elif block.reasoning_content is not None and block.reasoning_content.reasoning_text:
        texts.append(block.reasoning_content.reasoning_text.text)
    return 0


def _result(content: ToolResultContent, texts: list[str]) -> int:
    if content.text:
        texts.append(content.text)
    elif content.json is not None:
        texts.append(encoder.encode(content.json).decode())
    elif content.image is not None:
        return _image(content.image)
    return 0
