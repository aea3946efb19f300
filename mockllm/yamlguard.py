"""How deep a YAML text nests, measured before ruamel parses it.

ruamel's scanner takes time quadratic in the nesting of flow collections (1,500 ``[`` cost
seconds; 1 MB of them would cost hours) and its composer recurses once per level, so a small
hostile text costs far more to parse than to refuse. :func:`depth` reads the text once, line
by line, understanding just enough YAML to tell structure from scalars: indentation, ``- `` and
``? `` entries, flow brackets, quoted scalars, comments, block scalars (``|`` / ``>``) and
anchors or tags before a node. Where it is unsure it counts a level too many rather than one
too few, so a real config is never refused for a bracket inside a string; and should it ever
miss a level, ruamel's own ``RecursionError`` is still caught by the loader.
"""

from __future__ import annotations

import re

#: Characters that may open or close a level, or hide brackets from one (quotes, comments).
_SPECIAL = re.compile(r"""[\[\]{}"'#|>]""")
#: The rest of a double-quoted scalar up to its closing quote (escapes skipped).
_DOUBLE_END = re.compile(r'(?:[^"\\]|\\.)*"')
#: The rest of a single-quoted scalar up to its closing quote (``''`` is an escaped quote).
_SINGLE_END = re.compile(r"(?:[^']|'')*'")
_END = {'"': _DOUBLE_END, "'": _SINGLE_END}


class _Scan:
    """The state carried from line to line; :meth:`line` scans one and returns its depth."""

    def __init__(self, stop: int) -> None:
        self.stop = stop  # past this depth the answer is known: stop scanning
        #: The open block nodes: (column, is a "- " / "? " entry), outermost first.
        self.nodes: list[tuple[int, bool]] = []
        self.base = 0  # block depth where the open flow collection started
        #: The open flow collections, outermost first: ``{``, ``[``, or ``[:`` for a
        #: sequence with an implicit ``key: value`` pair open (``[a: b]`` holds a mapping).
        self.flow: list[str] = []
        self.pairs = 0  # the open implicit pairs
        self.quote = ""  # the quote of a quoted scalar that runs on to the next line
        self.scalar_indent = -1  # a block scalar's lines are indented past this (-1: none)

    def line(self, line: str) -> int:
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if self.scalar_indent >= 0:
            if not stripped.strip() or indent > self.scalar_indent:
                return 0  # a line of the block scalar's text
            self.scalar_indent = -1
        rest = stripped
        if not self.quote and not self.flow:
            if not rest.strip() or rest.startswith("#"):
                return 0
            if indent == 0 and rest[:3] in ("---", "...") and rest[3:4] in ("", " ", "\t"):
                self.nodes = []  # a new document; a node may follow on the same line
                rest = rest[3:].lstrip(" \t")
                if not rest:
                    return 0
            entry = rest[:2] in ("- ", "-\t", "? ", "?\t") or rest in ("-", "?")
            # A "- " entry at the column of a mapping key is that key's value, not its
            # sibling; any other line at or left of an open node's column closes it.
            while self.nodes and (self.nodes[-1][0] > indent or (
                    self.nodes[-1][0] == indent and (self.nodes[-1][1] or not entry))):
                self.nodes.pop()
            column = indent
            while rest[:2] in ("- ", "? ", "-\t", "?\t") or rest in ("-", "?"):
                self.nodes.append((column, True))  # "- - x": a sequence in a sequence
                after = rest[2:].lstrip(" \t")
                column += len(rest) - len(after)
                rest = after
            self.nodes.append((column, False))
            level = len(self.nodes)
            self.base = level
            deepest = level
        else:
            deepest = self.base + len(self.flow) + self.pairs
        if _SPECIAL.search(rest) is None:
            return deepest
        return max(deepest, self._chars(rest, indent))

    def _chars(self, text: str, indent: int) -> int:
        deepest = 0
        i, n = 0, len(text)
        start = not self.quote  # a node may start here (where a quote or bracket opens one)
        while i < n:
            if self.quote:
                m = _END[self.quote].match(text, i)
                if m is None:
                    return deepest  # the scalar goes on to the next line
                i, self.quote, start = m.end(), "", False
                continue
            c = text[i]
            if c in " \t":
                i += 1
                continue
            if c == "#" and (i == 0 or text[i - 1] in " \t"):
                return deepest  # a comment
            if start and c in "&!":  # an anchor or tag before a node: skip it
                while i < n and text[i] not in " \t,[]{}":
                    i += 1
                continue
            flow = self.flow
            if flow:
                if c in "[{":
                    flow.append(c)
                    deepest = max(deepest, self.base + len(flow) + self.pairs)
                    if deepest > self.stop:
                        return deepest
                    start = True
                elif c in "]}":
                    self.pairs -= flow.pop() == "[:"
                    start = False
                elif c == ",":
                    if flow[-1] == "[:":
                        flow[-1] = "["
                        self.pairs -= 1
                    start = True
                elif c in ":?":
                    if flow[-1] == "[":
                        flow[-1] = "[:"
                        self.pairs += 1
                        deepest = max(deepest, self.base + len(flow) + self.pairs)
                    start = True
                elif c in "'\"" and start:
                    self.quote = c
                else:
                    start = False
            elif start and c in "[{":
                self.flow = [c]
                deepest = max(deepest, self.base + 1)
                start = True
            elif start and c in "'\"":
                self.quote = c
            elif start and c in "|>":
                self.scalar_indent = indent
                return deepest  # the header of a block scalar; its text follows
            elif c == ":" and (i + 1 == n or text[i + 1] in " \t"):
                start = True  # a mapping value follows
            else:
                start = False
            i += 1
        return deepest


def depth(text: str, stop: int | None = None) -> tuple[int, int]:
    """(the nesting depth of ``text``, the 1-based line where it is reached).

    With ``stop``, the scan ends at the first line deeper than ``stop``. The depth counts
    collections and entries: ``a: [1]`` is 2 deep, ``- - x`` is 2 deep, a scalar is 1.
    """
    scan = _Scan(stop if stop is not None else len(text) + 1)
    deepest, where = 0, 1
    for number, line in enumerate(text.splitlines(), 1):
        d = scan.line(line)
        if d > deepest:
            deepest, where = d, number
            if d > scan.stop:
                break
    return deepest, where


def unclosed(text: str) -> int | None:
    """The 1-based line where the innermost quote or flow bracket still open at the end of
    ``text`` was opened, or None. ruamel reports an unclosed ``[`` or ``"`` only where it gives
    up (often the end of the file); this names the line of the mistake."""
    scan = _Scan(len(text) + 1)
    opened: list[int] = []  # the line of each open flow collection, outermost first
    quote_line = 0
    for number, line in enumerate(text.splitlines(), 1):
        had_quote = bool(scan.quote)
        scan.line(line)
        while len(opened) < len(scan.flow):
            opened.append(number)
        del opened[len(scan.flow):]
        if scan.quote and not had_quote:
            quote_line = number
    if scan.quote:
        return quote_line
    return opened[-1] if opened else None
