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

``count_tokens`` and ``usage.input_tokens`` both come from here, so they always agree.
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


def _image(source: Any) -> int:
    size = None
    if isinstance(source, dict) and source.get("type") == "base64":
        size = imagesize.from_base64(str(source.get("data") or ""))
    w, h = size or URL_IMAGE
    return image_tokens(w, h)


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
    fixed = REPLY_PRIMING
    system = req.system
    if system:
        fixed += PER_TURN
        if isinstance(system, str):
            texts.append(system)
        else:
            fixed += _blocks(system, texts)
    for m in req.messages:
        fixed += PER_TURN
        if isinstance(m.content, str):
            texts.append(m.content)
        else:
            fixed += _blocks(m.content, texts)
    if req.tools:
        choice = (req.tool_choice or {}).get("type", "auto")
        fixed += TOOLS_FORCED if choice in ("any", "tool") else TOOLS_AUTO
        for t in req.tools:
            texts.append(encoder.encode({"name": t.name, "description": t.description,
                                         "input_schema": t.input_schema}).decode())
    return Billed(texts, fixed)
