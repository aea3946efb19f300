"""Prompt tokens the way OpenAI bills them: the chat template, tool definitions, images.

The template is the one in OpenAI's cookbook ("How to count tokens with tiktoken",
``num_tokens_from_messages`` and ``num_tokens_for_tools``), which matches the API's
``prompt_tokens`` for the GPT-4o and later models: every message costs 3 tokens plus its
role and content, a ``name`` one more, and the reply is primed with 3. A tool costs a fixed
7 tokens (10 for gpt-3.5/gpt-4) plus ``name:description``, 3 for its properties, 3 and
``name:type:description`` per property, 3 per enum item (less 3 per enum), and the tools 12.

Images follow OpenAI's tile formula: ``detail: low`` is 85 tokens; otherwise the image is
fitted in 2048x2048, its short side scaled down to 768, and each 512-pixel tile costs 170 on
top of 85. Only inline (``data:``) images have a size here: a URL is never fetched, so it is
billed as a 1024x1024 image (765 tokens). This is the GPT-4o family's formula; other model
families' image multipliers are not modelled (see docs/openai.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from mockllm import imagesize
from mockllm.engine.request import Billed, Message, ToolDef

from .chat_schema import ChatRequest

PER_MESSAGE, PER_NAME, REPLY_PRIMING = 3, 1, 3
IMAGE_BASE, IMAGE_TILE, IMAGE_LOW = 85, 170, 85
#: The size a URL image (never fetched) is billed as.
URL_IMAGE = (1024, 1024)


def image_tokens(width: int, height: int, detail: str = "auto") -> int:
    if detail == "low":
        return IMAGE_LOW
    if width <= 0 or height <= 0:
        return IMAGE_BASE
    fit = min(1.0, 2048 / max(width, height))
    w, h = width * fit, height * fit
    short = min(w, h)
    if short > 768:
        w, h = w * 768 / short, h * 768 / short
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return IMAGE_BASE + IMAGE_TILE * tiles


def image_url_tokens(image_url: Any) -> int:
    """``image_url`` is a chat part's ``{"url", "detail"}`` or a Responses ``image_url``."""
    url, detail = "", "auto"
    if isinstance(image_url, dict):
        url, detail = str(image_url.get("url") or ""), str(image_url.get("detail") or "auto")
    elif isinstance(image_url, str):
        url = image_url
    size = imagesize.from_data_url(url) or URL_IMAGE
    return image_tokens(size[0], size[1], detail)


class ChatBill:
    """Collects one request's bill, message by message."""

    __slots__ = ("fixed", "texts")

    def __init__(self, texts: list[str] | None = None) -> None:
        self.texts: list[str] = [] if texts is None else texts
        self.fixed = REPLY_PRIMING

    def message(self, role: str, texts: Iterable[str], name: str | None = None,
                images: int = 0) -> None:
        self.fixed += PER_MESSAGE + images
        self.texts.append(role)
        self.texts.extend(t for t in texts if t)
        if name:
            self.texts.append(name)
            self.fixed += PER_NAME

    def tools(self, model: str, tools: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """``(name, description, parameters)`` of each function tool."""
        legacy = model.startswith(("gpt-3.5", "gpt-4-", "gpt-4-32k")) or model == "gpt-4"
        func_init = 10 if legacy else 7
        any_tool = False
        for name, description, parameters in tools:
            any_tool = True
            self.fixed += func_init
            self.texts.append(f"{name}:{description.removesuffix('.')}")
            props = parameters.get("properties") if isinstance(parameters, dict) else None
            if not isinstance(props, dict) or not props:
                continue
            self.fixed += 3
            for key, prop in props.items():
                prop = prop if isinstance(prop, dict) else {}
                self.fixed += 3
                enum = prop.get("enum")
                if isinstance(enum, list):
                    self.fixed += -3 + 3 * len(enum)
                    self.texts.extend(str(item) for item in enum)
                kind = prop.get("type", "")
                kind = ",".join(map(str, kind)) if isinstance(kind, list) else str(kind)
                desc = str(prop.get("description") or "").removesuffix(".")
                self.texts.append(f"{key}:{kind}:{desc}")
        if any_tool:
            self.fixed += 12

    def billed(self) -> Billed:
        return Billed(self.texts, self.fixed)


def chat_bill(req: ChatRequest) -> Billed:
    """The bill of a chat completions request."""
    texts_out: list[str] = []
    fixed = REPLY_PRIMING
    bill: ChatBill | None = None  # made for the first turn the usual path cannot take
    for m in req.messages:
        content = m.content
        if (type(content) is str and m.name is None and not m.tool_calls
                and m.function_call is None):
            # The usual turn, without the general path's lists (it runs per request).
            texts_out.append(m.role)
            if content:
                texts_out.append(content)
            fixed += PER_MESSAGE
            continue
        images = 0
        if content is None or isinstance(content, str):
            texts: list[str] = [content] if content else []
        else:
            texts = []
            for part in content:
                if part.text or part.refusal:
                    texts.append(part.text or part.refusal or "")
                elif part.image_url is not None:
                    images += image_url_tokens(part.image_url)
        for call in m.tool_calls or ():
            if call.function is not None:
                texts += (call.function.name, call.function.arguments)
        if m.function_call is not None:
            texts += (m.function_call.name, m.function_call.arguments)
        bill = bill or ChatBill(texts_out)
        bill.message(m.role, texts, m.name, images)
    if req.tools:
        bill = bill or ChatBill(texts_out)
        bill.tools(req.model, ((t.function.name, t.function.description or "",
                                t.function.parameters or {})
                               for t in req.tools if t.function is not None))
    if bill is not None:
        fixed += bill.fixed - REPLY_PRIMING
    return Billed(texts_out, fixed)


def neutral_bill(model: str, messages: Iterable[Message], tools: Iterable[ToolDef]) -> Billed:
    """The bill of a conversation already in neutral form (the Responses API's ``input``,
    with stored history): the same template as chat completions."""
    bill = ChatBill()
    for m in messages:
        texts = [m.text]
        for call in m.tool_calls:
            texts += (call.name, call.arguments)
        bill.message(m.role, texts)
    bill.tools(model, ((t.name, t.description, t.parameters) for t in tools))
    return bill.billed()
