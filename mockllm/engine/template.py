"""Response templates: ``{name}`` substitution and nothing else (no expressions, no code).

``Hello {city}!`` inserts the value of ``city``; ``{{`` and ``}}`` are literal braces. A
template is parsed once at load into literal and name parts, so rendering is a join.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Names every template can use, whatever the rule matches (docs/config.md, "Templates").
BUILTIN_NAMES = frozenset({
    "model", "requested_model", "endpoint", "provider", "rule", "counter", "choice",
    "last_user", "last_message", "system", "message_count",
})

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{|\}")


class TemplateError(ValueError):
    pass


class Template:
    """A parsed template: ``parts`` alternate literal text and ``(name,)`` look-ups."""

    __slots__ = ("names", "parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        parts: list[str | tuple[str]] = []
        literal: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(source):
            literal.append(source[pos:m.start()])
            pos = m.end()
            tok = m.group(0)
            if tok in ("{{", "}}"):
                literal.append(tok[0])
            elif m.group(1) is not None:
                parts.append("".join(literal))
                literal = []
                parts.append((m.group(1),))
            else:
                raise TemplateError(
                    f"unbalanced {tok!r} at column {m.start() + 1} (write {tok * 2} for a "
                    "literal brace; names look like {city})"
                )
        literal.append(source[pos:])
        parts.append("".join(literal))
        self.parts = tuple(p for p in parts if p != "")
        self.names = frozenset(p[0] for p in self.parts if isinstance(p, tuple))

    @property
    def constant(self) -> bool:
        return not self.names

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(p if isinstance(p, str) else values.get(p[0], "") for p in self.parts)

    def check(self, known: frozenset[str] | set[str] | None) -> str | None:
        """A message naming the first unknown name, or None (always None for ``known=None``:
        the names are not known before the request, as with plugin matchers)."""
        if known is None:
            return None
        unknown = sorted(self.names - known)
        if unknown:
            return (f"unknown template name {{{unknown[0]}}} (known: "
                    f"{', '.join(sorted(known))})")
        return None
