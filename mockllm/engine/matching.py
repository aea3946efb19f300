"""Rule matching, compiled once at load.

A rule's ``match`` becomes a tuple of small predicates (regexes compiled, globs translated,
JSON paths split), so the per-request cost is a linear scan of cheap checks. Predicates that
need the same derived text (the last user message, the system prompt) share a
:class:`RequestView`, which computes each derived value at most once per request.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from mockllm.engine.extend import NONE, Extensions, plugin_check
from mockllm.engine.paths import parse_json_path
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import Count, Match, TextMatch
from mockllm.engine.view import MISSING as _MISSING
from mockllm.engine.view import RequestView

__all__ = ["Check", "RequestView", "TextTest", "compile_match"]

Check = Callable[[RequestView], bool]


class TextTest:
    """``equals`` / ``contains`` / ``glob`` / ``regex`` on one text; all given must hold.

    Case-insensitive unless ``case: true``. A regex's named groups are captured for templates.
    """

    __slots__ = ("contains", "equals", "fold", "glob", "regex")

    def __init__(self, tm: str | TextMatch) -> None:
        if isinstance(tm, str):
            tm = TextMatch(contains=tm)
        self.fold = fold = not tm.case
        flags = re.IGNORECASE if fold else 0
        self.equals = tm.equals.casefold() if fold and tm.equals is not None else tm.equals
        self.contains = (tm.contains.casefold() if fold and tm.contains is not None
                         else tm.contains)
        self.glob = (re.compile(fnmatch.translate(tm.glob), flags | re.DOTALL)
                     if tm.glob is not None else None)
        self.regex = re.compile(tm.regex, flags) if tm.regex is not None else None

    def __call__(self, text: str, captures: dict[str, str]) -> bool:
        if self.equals is not None or self.contains is not None:
            folded = text.casefold() if self.fold else text
            if self.equals is not None and folded != self.equals:
                return False
            if self.contains is not None and self.contains not in folded:
                return False
        if self.glob is not None and self.glob.match(text) is None:
            return False
        if self.regex is not None:
            m = self.regex.search(text)
            if m is None:
                return False
            if self.regex.groupindex:
                captures.update({k: v or "" for k, v in m.groupdict().items()})
        return True


def _count_test(spec: int | Count) -> Callable[[int], bool]:
    lo, hi = (spec, spec) if isinstance(spec, int) else (spec.min, spec.max)
    return lambda n: (lo is None or n >= lo) and (hi is None or n <= hi)


def _dig(raw: Any, path: tuple[str | int, ...]) -> Any:
    node = raw
    for part in path:
        if isinstance(part, int) and isinstance(node, list):
            if part >= len(node):
                return _MISSING
            node = node[part]
        elif isinstance(node, dict):
            node = node.get(str(part), _MISSING)
            if node is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return node


def compile_match(m: Match, ext: Extensions = NONE) -> tuple[Check, ...]:
    """The predicates of one ``match`` block, cheapest first; plugin matchers last.

    Raises :class:`~mockllm.engine.extend.ExtensionError` (naming the plugin key) when a
    plugin matcher is unknown or its factory refuses the value."""
    checks: list[Check] = []
    if m.endpoint is not None:
        ep = re.compile(fnmatch.translate(m.endpoint)).match
        checks.append(lambda v: ep(v.req.endpoint) is not None)
    if m.provider is not None:
        provider = m.provider
        checks.append(lambda v: v.req.provider == provider)
    if m.model is not None:
        model = re.compile(fnmatch.translate(m.model)).match
        # The requested name (an alias, perhaps) and the canonical id both count.
        checks.append(lambda v: model(v.req.model) is not None
                      or model(v.model_id) is not None)
    if m.message_count is not None:
        count = _count_test(m.message_count)
        checks.append(lambda v: count(len(v.req.messages)))
    if m.turn is not None:
        turn = _count_test(m.turn)
        checks.append(lambda v: turn(sum(1 for x in v.req.messages if x.role == "user")))
    if m.tool_result is not None:
        want = m.tool_result
        checks.append(lambda v: _last_is_tool_result(v.req) is want)
    if m.has_tools is not None:
        has = m.has_tools
        checks.append(lambda v: bool(v.req.tools) is has)
    if m.tools:
        names = frozenset(m.tools)
        checks.append(lambda v: names <= {t.name for t in v.req.tools})
    for name, value in m.header.items():
        checks.append(_header_check(name.lower(), value))
    for path, expected in m.json.items():
        checks.append(_json_check(parse_json_path(path), expected))
    if m.system is not None:
        system = TextTest(m.system)
        checks.append(lambda v: system(v.system, v.captures))
    if m.last_user is not None:
        last_user = TextTest(m.last_user)
        checks.append(lambda v: last_user(v.last_user, v.captures))
    if m.any_message is not None:
        anym = TextTest(m.any_message)
        checks.append(lambda v: any(anym(x.text, v.captures) for x in v.req.messages))
    for name, value in m.extensions.items():
        checks.append(plugin_check(ext.matcher(name, value)))
    return tuple(checks)


def _last_is_tool_result(req: NeutralRequest) -> bool:
    if not req.messages:
        return False
    last = req.messages[-1]
    return last.role == "tool" or last.tool_call_id is not None


def _header_check(name: str, value: str) -> Check:
    if value == "*":
        return lambda v: name in v.req.headers
    pattern = re.compile(fnmatch.translate(value), re.IGNORECASE).match
    return lambda v: pattern(v.req.headers.get(name, "")) is not None and name in v.req.headers


def _json_check(path: tuple[str | int, ...], expected: Any) -> Check:
    return lambda v: _dig(v.raw, path) == expected
