"""Merged hooks: contributions by *name* (latency models, matchers, responders, validators,
faults, tokenizers), resolved by the same precedence rules as endpoint keys.

Each plugin's answer is recorded with the plugin that gave it, so pluggy's call order plays
no part: builtins rank lowest, ``tryfirst`` highest, plugins in load order between (the first
loaded wins a tie, with a warning), and ``--use KIND:NAME=PLUGIN`` settles any clash. Called
at start-up only; the engine receives plain dicts of winners.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockllm.registry import PluginError, PluginRef
from mockllm.resolve import Contribution, Resolution, ResolutionError, rank, resolve

#: ``--use`` prefix -> (hook name, what one contribution is called).
KINDS: dict[str, tuple[str, str]] = {
    "latency": ("mockllm_latency_models", "latency model"),
    "matcher": ("mockllm_matchers", "matcher"),
    "responder": ("mockllm_responders", "responder"),
    "validator": ("mockllm_validators", "validator"),
    "fault": ("mockllm_faults", "fault"),
    "tokenizer": ("mockllm_tokenizer", "tokenizer"),
}

#: Kinds whose names must contain a dot, so they can never clash with a builtin config key.
DOTTED = frozenset({"matcher", "responder", "validator", "fault"})


@dataclass
class NamedSet:
    """Every contribution of one kind, and the winner per name."""

    kind: str
    contributions: dict[str, list[Contribution]] = field(default_factory=dict)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return KINDS[self.kind][1]

    def add(self, name: str, ref: PluginRef, impl: Any) -> None:
        self.contributions.setdefault(name, []).append(
            Contribution(name, ref.name, impl, ref.load_index, ref.builtin, ref.tryfirst))

    def resolve_all(self, overrides: Mapping[str, str]) -> None:
        unknown = sorted(set(overrides) - set(self.contributions))
        if unknown:
            known = ", ".join(sorted(self.contributions)) or "none"
            raise PluginError(f"--use {self.kind}:{unknown[0]}=...: no plugin contributes the "
                              f"{self.label} {unknown[0]!r} (known: {known})")
        for name, contributions in self.contributions.items():
            try:
                r = resolve(name, contributions, override=overrides.get(name))
            except ResolutionError as exc:
                raise PluginError(f"{self.label} {exc}") from None
            self.resolutions[name] = r
            self.warnings.extend(f"{self.label} {w}".replace(
                f"--use {name}=", f"--use {self.kind}:{name}=") for w in r.warnings)

    def winners(self) -> dict[str, Any]:
        """name -> the winning implementation, in precedence order of the winners."""
        ranked = sorted(self.resolutions.values(), key=lambda r: (rank(r.winner), r.key))
        return {r.key: r.winner.impl for r in ranked}


@dataclass
class Merged:
    """Every merged hook's contributions, resolved (``mockllm plugins`` shows them all)."""

    latency: NamedSet
    matchers: NamedSet
    responders: NamedSet
    validators: NamedSet
    faults: NamedSet
    tokenizers: TokenizerChoice

    @property
    def warnings(self) -> list[str]:
        return [*self.latency.warnings, *self.matchers.warnings, *self.responders.warnings,
                *self.validators.warnings, *self.faults.warnings]


def collect_all(hook: Any, refs: Mapping[str, PluginRef],
                use: Mapping[str, Mapping[str, str]],
                latency_fallback: Mapping[str, Any]) -> Merged:
    def impls(kind: str) -> list[Any]:
        return list(getattr(hook, KINDS[kind][0]).get_hookimpls())

    return Merged(
        latency=collect("latency", impls("latency"), refs, use.get("latency", {}),
                        latency_fallback),
        matchers=collect("matcher", impls("matcher"), refs, use.get("matcher", {})),
        responders=collect("responder", impls("responder"), refs, use.get("responder", {})),
        validators=collect("validator", impls("validator"), refs, use.get("validator", {})),
        faults=collect("fault", impls("fault"), refs, use.get("fault", {})),
        tokenizers=TokenizerChoice(hook.mockllm_tokenizer, refs, use.get("tokenizer", {})),
    )


def collect(
    kind: str,
    hook_impls: Iterable[Any],
    refs: Mapping[str, PluginRef],
    overrides: Mapping[str, str],
    fallback: Mapping[str, Any] | None = None,
) -> NamedSet:
    """Call each hookimpl of a ``{name: value}`` hook once and resolve every name.

    ``fallback`` holds values that always exist at the lowest rank (the builtin latency
    models stay known even with ``builtin.latency`` blocked).
    """
    out = NamedSet(kind)
    for impl in hook_impls:
        ref = ref_of(impl, refs)
        answer = impl.function()
        if answer is None:
            continue
        if not isinstance(answer, Mapping):
            raise PluginError(f"{ref.name}: {KINDS[kind][0]}() must return a dict of "
                              f"{{name: ...}} or None, got {type(answer).__name__}")
        for name, value in answer.items():
            if not isinstance(name, str) or (kind in DOTTED and "." not in name):
                raise PluginError(
                    f"{ref.name}: {out.label} name {name!r} must contain a dot "
                    f"(for example '{ref.name.split('.')[-1]}.{name}') so it never clashes "
                    "with a builtin config key")
            out.add(name, ref, value)
    if fallback:
        last = PluginRef("builtin", 1 << 30, True, False)
        for name, value in fallback.items():
            if name not in out.contributions:
                out.add(name, last, value)
    out.resolve_all(overrides)
    return out


class TokenizerChoice:
    """``mockllm_tokenizer`` by precedence instead of pluggy's firstresult call order.

    Every implementation is asked (once per vocabulary: the answer is cached by
    :class:`mockllm.engine.tokens.Tokenizers`); the answers are ranked like any contribution.
    """

    def __init__(self, caller: Any, refs: Mapping[str, PluginRef],
                 overrides: Mapping[str, str]) -> None:
        # The hook caller, not a list: a plugin registered later (a test's) is asked too.
        self._caller = caller
        self._refs = refs
        self._overrides = dict(overrides)
        self.chosen: dict[str, Resolution] = {}
        self.warnings: list[str] = []

    def __call__(self, name: str) -> Any:
        found = NamedSet("tokenizer")
        for impl in self._caller.get_hookimpls():
            tok = impl.function(name=name)
            if tok is not None:
                found.add(name, ref_of(impl, self._refs), tok)
        if name not in found.contributions:
            return None
        override = self._overrides.get(name)
        if override is not None and not any(c.plugin == override or
                                            (override == "builtin" and c.builtin)
                                            for c in found.contributions[name]):
            raise PluginError(f"--use tokenizer:{name}={override}: that plugin gives no "
                              f"tokenizer {name!r}")
        found.resolve_all({name: override} if override is not None else {})
        self.chosen[name] = found.resolutions[name]
        self.warnings.extend(found.warnings)
        return found.resolutions[name].winner.impl


def ref_of(impl: Any, refs: Mapping[str, PluginRef]) -> PluginRef:
    """Who contributed through ``impl`` (a plugin registered by hand ranks after the rest)."""
    base = refs.get(impl.plugin_name) or PluginRef(impl.plugin_name, 1 << 20, False, False)
    return PluginRef(base.name, base.load_index, base.builtin, impl.tryfirst)


def split_use(use: Mapping[str, str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """``--use`` items into key overrides and ``{kind: {name: plugin}}`` for merged hooks."""
    keys: dict[str, str] = {}
    named: dict[str, dict[str, str]] = {k: {} for k in KINDS}
    for key, plugin in use.items():
        kind, sep, name = key.partition(":")
        if sep and kind in KINDS:
            named[kind][name] = plugin
        elif sep:
            raise PluginError(f"--use {key}={plugin}: unknown kind {kind!r} (one of: "
                              f"{', '.join(KINDS)}; or an endpoint or transport key)")
        else:
            keys[key] = plugin
    return keys, named

