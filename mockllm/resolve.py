"""Precedence rules: which contribution wins a key, why, and what it shadowed.

Pure functions over plain data: no pluggy, no I/O. Highest first:

1. ``runtime``  - ``use_implementation`` / ``POST /_mockllm/plugins/use``
2. ``override`` - ``--use``, ``MOCKLLM_USE``, config ``plugins.use``
3. ``tryfirst`` - a ``tryfirst=True`` hookimpl
4. ``plugin``   - an entry-point, ``-p`` or config-loaded plugin (first loaded wins a tie)
5. ``builtin``  - a ``plugins_builtin`` module

Call order inside pluggy is deliberately ignored: trylast implementations run oldest first
while normal ones run newest first, so "the last one called wins" would give different answers
for builtins and plugins. Load order is recorded explicitly instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Reason = Literal["runtime", "override", "tryfirst", "plugin", "builtin"]

BUILTIN = "builtin"


class ResolutionError(ValueError):
    """An override names something that did not contribute the key."""


@dataclass(frozen=True)
class Contribution:
    """One plugin's implementation of one key (a class for endpoints and transports, any
    value for merged hooks such as latency models and matchers)."""

    key: str
    plugin: str
    impl: Any
    load_index: int
    builtin: bool = False
    tryfirst: bool = False

    @property
    def class_path(self) -> str:
        impl = self.impl
        if not hasattr(impl, "__qualname__"):
            impl = type(impl)
        return f"{getattr(impl, '__module__', '?')}:{impl.__qualname__}"


@dataclass(frozen=True)
class Resolution:
    key: str
    winner: Contribution
    reason: Reason
    shadowed: tuple[Contribution, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)


def find(contributions: list[Contribution], name: str | type) -> Contribution | None:
    """The contribution a user means by ``name``: a plugin name, ``builtin``, or a class."""
    for c in contributions:
        if isinstance(name, type):
            if c.impl is name:
                return c
        elif name == BUILTIN and c.builtin:
            return c
        elif c.plugin == name or c.class_path == name:
            return c
    return None


_LABEL = {"runtime": "runtime override", "override": "start-up override (--use)"}


def rank(c: Contribution) -> tuple[int, int]:
    """Sort key of precedence without overrides: tryfirst, then plugins, then builtins;
    load order inside a tier."""
    tier = 0 if c.tryfirst else (1 if not c.builtin else 2)
    return (tier, c.load_index)


def resolve(
    key: str,
    contributions: list[Contribution],
    override: str | type | None = None,
    runtime: str | type | None = None,
) -> Resolution:
    """Choose the winner for ``key`` among ``contributions`` (all for this key)."""
    if not contributions:
        raise ResolutionError(f"no plugin implements {key!r}")
    ordered = sorted(contributions, key=rank)
    forced: tuple[tuple[Reason, str | type | None], ...] = (
        ("runtime", runtime), ("override", override))
    for why, name in forced:
        if name is None:
            continue
        chosen = find(contributions, name)
        if chosen is None:
            offered = ", ".join(sorted({c.plugin for c in contributions}))
            shown = name.__qualname__ if isinstance(name, type) else name
            raise ResolutionError(
                f"{_LABEL[why]} {key}={shown}: that plugin does not implement {key!r} "
                f"(implemented by: {offered})"
            )
        return Resolution(key, chosen, why, tuple(c for c in ordered if c is not chosen))
    winner = ordered[0]
    rest = tuple(ordered[1:])
    reason: Reason = "tryfirst" if winner.tryfirst else ("builtin" if winner.builtin else "plugin")
    warnings: tuple[str, ...] = ()
    tied = [c for c in rest if rank(c)[0] == rank(winner)[0] and not winner.builtin]
    if tied:
        names = ", ".join(c.plugin for c in tied)
        warnings = (
            f"{key}: plugins {winner.plugin} and {names} both implement it; {winner.plugin} "
            f"wins because it was loaded first. Settle it with --use {key}=PLUGIN.",
        )
    return Resolution(key, winner, reason, rest, warnings)
