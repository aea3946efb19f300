"""Recorded exchanges to a mockllm config: rules, latency profiles and (when needed) models.

One rule per distinct request (endpoint, model, prompt). A prompt asked more than once with
different answers becomes a ``sequence`` in the order the answers came. Each rule's chunk
timing becomes a latency profile of the same name. Nothing from the request's headers or
query is written, and any secret the requests carried is blanked wherever it appears.
"""

from __future__ import annotations

import io
import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mockllm.record.capture import Capture

REDACTED = "[REDACTED]"


@dataclass
class Exchange:
    """One request and what came back."""

    endpoint: str
    model: str
    prompt: Any  # the value the rule matches on (see ``prompt_of``)
    capture: Capture


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def prompt_of(endpoint: str, body: dict[str, Any]) -> Any:
    """What identifies a request: the last user message for conversations; the whole
    ``prompt`` / ``input`` for completions and embeddings (matched as JSON)."""
    if endpoint in ("openai.completions", "openai.embeddings"):
        return body.get("prompt") if endpoint == "openai.completions" else body.get("input")
    if endpoint == "openai.responses":
        items = body.get("input")
        if isinstance(items, str):
            return items
        messages = items if isinstance(items, list) else []
    else:
        messages = body.get("messages") or []
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return _text(m.get("content"))
    return ""


def answer(c: Capture) -> dict[str, Any]:
    """One ``respond`` block: what the upstream said, or how it failed."""
    if c.status == 0:  # no answer at all (connection refused, reset before headers)
        return {"fault": {"kind": "disconnect"}}
    if c.status >= 400 and c.error is not None:
        return {"error": c.error}
    if c.status >= 400:
        return {"error": {"status": c.status}}
    out: dict[str, Any] = {}
    vectors = c.embeddings
    if vectors is not None:
        if len(vectors) == 1:
            out["embedding"] = vectors[0]
        else:
            out["embeddings"] = vectors
    else:
        choices = c.choices
        if len(choices) > 1:  # n > 1: each choice as it came
            out["choices"] = [_said(c, i) for i in choices]
        else:
            out.update(_said(c, choices[0] if choices else 0))
    if c.disconnected is not None:
        out["fault"] = {"kind": "disconnect", "after": c.chunks}
    elif c.error is not None:  # an error event in the middle of a stream
        fault = {"kind": "error", "after": c.chunks, "status": c.error.get("status", 500)}
        if c.error.get("message"):
            fault["message"] = c.error["message"]
        out["fault"] = fault
    return out


def _said(c: Capture, choice: int) -> dict[str, Any]:
    """What one choice said: its text, its tool calls, or both (an empty text if neither)."""
    out: dict[str, Any] = {}
    calls = c.tool_calls(choice)
    if calls:
        out["tool_calls"] = calls
    text = c.text(choice)
    if text or not calls:
        out["text"] = text
    return out


def _glob_literal(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _match(e: Exchange) -> dict[str, Any]:
    match: dict[str, Any] = {"endpoint": e.endpoint, "model": _glob_literal(e.model)}
    if e.endpoint in ("openai.completions", "openai.embeddings"):
        match["json"] = {"prompt" if e.endpoint == "openai.completions" else "input": e.prompt}
    else:
        match["last_user"] = {"equals": e.prompt, "case": True}
    return match


def _latency(captures: list[Capture]) -> dict[str, float]:
    # A stream shows TTFT and ITL apart; a whole answer only their sum (as TTFT). When a
    # prompt came both ways, the streams' figures serve both (a whole replay then takes
    # TTFT + ITL per token, as the real one did).
    captures = [c for c in captures if c.streamed and c.chunks] or captures
    return {"ttft_ms": round(statistics.fmean(c.ttft_ms for c in captures), 1),
            "itl_ms": round(statistics.fmean(c.itl_ms for c in captures), 2)}


def build(exchanges: Iterable[Exchange], known_models: set[str],
          secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The config document for these exchanges (in the order they happened)."""
    groups: dict[str, list[Exchange]] = {}
    for e in exchanges:
        key = json.dumps([e.endpoint, e.model, e.prompt], sort_keys=True)
        groups.setdefault(key, []).append(e)
    rules, profiles, new_models = [], {}, {}
    for n, group in enumerate(groups.values(), 1):
        first = group[0]
        name = f"recorded-{n}"
        answers = [answer(e.capture) for e in group]
        if all(a == answers[0] for a in answers):
            respond: dict[str, Any] = answers[0]
        else:
            respond = {"sequence": answers}
        profiles[name] = _latency([e.capture for e in group])
        rules.append({"name": name, "match": _match(first), "respond": respond,
                      "latency": {"profile": name}})
        if first.model and first.model not in known_models:
            provider = "anthropic" if first.endpoint.startswith("anthropic.") else "openai"
            new_models[first.model] = {"id": first.model, "provider": provider}
    doc: dict[str, Any] = {"latency_profiles": profiles, "rules": rules}
    if new_models:
        doc["new_models"] = list(new_models.values())
    scrubbed: dict[str, Any] = _scrub(doc, [s for s in secrets if len(s) >= 4])
    return scrubbed


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def dump(doc: dict[str, Any], header: str, default_models: list[dict[str, Any]]) -> str:
    """YAML text: the header as comments, then the config. Models the embedded default
    does not know are added to its list (a config with ``models`` replaces that list)."""
    from ruamel.yaml import YAML

    doc = dict(doc)
    extra = doc.pop("new_models", None)
    if extra:
        doc = {"models": [*default_models, *extra], **doc}
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 100
    out = io.StringIO()
    out.write("".join(f"# {line}\n" for line in header.splitlines()))
    yaml.dump(doc, out)
    return out.getvalue()
