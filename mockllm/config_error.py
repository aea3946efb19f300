"""``ConfigError``: config problems as data, apart from the loader that finds most of them.

Each problem is a :class:`Problem` (where, which key, what is wrong); ``problems`` keeps the
rendered ``file:line: key.path: message`` lines the CLI prints. The engine raises it for
latency blocks it cannot compile without importing the YAML loader.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Problem(NamedTuple):
    """One config problem: ``source`` (file, or file:line), ``path`` (key path), ``message``."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}" if self.path else (
            f"{self.source}: {self.message}")


class ConfigError(ValueError):
    """One or more config problems, each ``file:line: key.path: message``.

    A plugin factory may raise it with one message (``ConfigError("must be positive")``);
    mockllm adds the file, line and key path.
    """

    def __init__(self, problems: Iterable[str | Problem] | str) -> None:
        found = [problems] if isinstance(problems, str) else list(problems)
        #: The problems as data (a bare string becomes a Problem without a key path).
        self.found = [p if isinstance(p, Problem) else Problem(p, "", "") for p in found]
        #: The rendered lines, as printed.
        self.problems = [str(p) if isinstance(p, Problem) else p for p in found]
        super().__init__("\n".join(self.problems))
