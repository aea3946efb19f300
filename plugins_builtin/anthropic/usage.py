"""Input tokens the way Anthropic bills them: system, turns, tools, images (approximated).

Claude's tokenizer is not published, so a model's ``tokenizer`` (``cl100k_base`` in the
default registry) stands in for it and the template around the text is approximated:

* each turn (and a non-empty system prompt) adds 3 tokens for its role markers, and the
  assistant's reply is primed with 3, as in OpenAI's chat template;
* offering tools adds the tool-use system prompt Anthropic's tool-use page prices at 346
  tokens (``tool_choice`` ``auto`` / ``none``) or 313 (``any`` / ``tool``), plus each tool's
  JSON (name, description, input_schema);
* an image costs ``width * height / 750`` tokens, after it is scaled to fit a 1568-pixel
  long edge, at most 1,600 (Anthropic's vision page). An image without inline data (a URL
  source) is never fetched and is billed as 1092x1092 (1,590 tokens, the largest square).

``count_tokens`` and ``usage.input_tokens`` both come from here, so they always agree, and
so does Bedrock's Converse for a Claude model (``plugins_builtin.bedrock.usage`` maps its
blocks onto the same template with :func:`template`, :func:`tools_overhead`,
:func:`tool_text` and :func:`image_tokens`).
"""

from __future__ import annotations

from typing import Any

from mockllm import imagesize
from mockllm.engine.request import Billed
from plugins_builtin.anthropic.wire import Block, MessagesRequest, encoder

PER_TURN, REPLY_PRIMING = 3, 3
TOOLS_AUTO, TOOLS_FORCED = 346, 313
IMAGE_MAX_EDGE, IMAGE_MAX_TOKENS = 1568, 1600
URL_IMAGE = (1092, 1092)


def image_tokens(width: int, height: int) -> int:
    if width <= 0 or height <= 0:
        return 0
    scale = min(1.0, IMAGE_MAX_EDGE / max(width, height))
    w, h = round(width * scale), round(height * scale)
    return min(IMAGE_MAX_TOKENS, (w * h + 749) // 750)


def base64_image_tokens(data: str | None) -> int:
    """An image sent inline (``data``, base64) or, with None, by reference (never fetched)."""
    size = imagesize.from_base64(data) if data is not None else None
    w, h = size or URL_IMAGE
    return image_tokens(w, h)


def template(turns: int, system: bool) -> int:
    """The role markers of ``turns`` messages and a system prompt, and the reply priming."""
    return REPLY_PRIMING + PER_TURN * (turns + system)


def tools_overhead(choice: str) -> int:
    """The tool-use system prompt for a ``tool_choice`` type (``auto``, ``none``, ``any``,
    ``tool``)."""
    return TOOLS_FORCED if choice in ("any", "tool") else TOOLS_AUTO


def tool_text(name: str, description: str | None, input_schema: Any) -> str:
    """A tool definition as counted: its JSON (name, description, input_schema)."""
    return encoder.encode({"name": name, "description": description,
                           "input_schema": input_schema}).decode()


def _image(source: Any) -> int:
    if isinstance(source, dict) and source.get("type") == "base64":
        return base64_image_tokens(str(source.get("data") or ""))
    return base64_image_tokens(None)


def _blocks(blocks: list[Block], texts: list[str]) -> int:
    """Adds each block's text to ``texts``; returns the images' tokens."""
    images = 0
    for b in blocks:
        if b.text:
            texts.append(b.text)
        elif b.type == "image":
            images += _image(b.source)
        elif b.type == "tool_use":
            texts += (b.name or "", encoder.encode(b.input or {}).decode())
        elif b.type == "tool_result":
            if isinstance(b.content, str):
                texts.append(b.content)
            elif b.content:
                images += _blocks(b.content, texts)
        elif b.type == "thinking" and b.thinking:
            texts.append(b.thinking)
    return images


def messages_bill(req: MessagesRequest) -> Billed:
    texts: list[str] = []
    system = req.system
    fixed = template(len(req.messages), bool(system))
    if system:
        if isinstance(system, str):
            texts.append(system)
        else:
            fixed += _blocks(system, texts)
    for m in req.messages:
        if isinstance(m.content, str):
            texts.append(m.content)
        else:
            fixed += _blocks(m.content, texts)
    if req.tools:
        fixed += tools_overhead((req.tool_choice or {}).get("type", "auto"))
        texts.extend(tool_text(t.name, t.description, t.input_schema) for t in req.tools)
    return Billed(texts, fixed)
