"""Every precedence case of docs/plugins.md ("Who wins a key"), table-driven, on plain data
(no pluggy)."""

from __future__ import annotations

import pytest

from mockllm.resolve import Contribution, ResolutionError, resolve


class BuiltinChat: ...


class AcmeChat: ...


class OtherChat: ...


class FirstChat: ...


B = Contribution("k", "builtin.openai", BuiltinChat, 0, builtin=True)
A = Contribution("k", "acme", AcmeChat, 5)
O = Contribution("k", "other", OtherChat, 6)  # noqa: E741 - reads as "other"
F = Contribution("k", "fast", FirstChat, 7, tryfirst=True)

CASES = [
    # (id, contributions, override, runtime, winner, reason, shadowed)
    ("builtin-alone", [B], None, None, B, "builtin", [], ),
    ("plugin-beats-builtin", [B, A], None, None, A, "plugin", [B]),
    ("plugin-beats-builtin-any-order", [A, B], None, None, A, "plugin", [B]),
    ("first-loaded-plugin-wins-tie", [B, O, A], None, None, A, "plugin", [O, B]),
    ("tryfirst-beats-plugin", [B, A, F], None, None, F, "tryfirst", [A, B]),
    ("override-beats-tryfirst", [B, A, F], "acme", None, A, "override", [F, B]),
    ("override-to-builtin", [B, A], "builtin", None, B, "override", [A]),
    ("override-by-class-path", [B, A], "tests.test_resolve:OtherChat", None, None, None, None),
    ("runtime-beats-override", [B, A, O], "acme", "other", O, "runtime", [A, B]),
    ("runtime-by-class", [B, A], None, BuiltinChat, B, "runtime", [A]),
    ("runtime-builtin-over-tryfirst", [B, F], None, "builtin", B, "runtime", [F]),
]


@pytest.mark.parametrize(
    "contribs,override,runtime,winner,reason,shadowed",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_precedence(
    contribs: list[Contribution],
    override: str | None,
    runtime: str | type | None,
    winner: Contribution | None,
    reason: str | None,
    shadowed: list[Contribution] | None,
) -> None:
    if winner is None:
        with pytest.raises(ResolutionError, match="does not implement"):
            resolve("k", contribs, override=override, runtime=runtime)
        return
    r = resolve("k", contribs, override=override, runtime=runtime)
    assert (r.winner, r.reason, list(r.shadowed)) == (winner, reason, shadowed)


def test_tie_warns_naming_both_plugins_and_the_fix() -> None:
    r = resolve("k", [B, O, A])
    assert len(r.warnings) == 1
    assert "acme" in r.warnings[0] and "other" in r.warnings[0]
    assert "--use k=PLUGIN" in r.warnings[0]


def test_no_warning_without_a_tie() -> None:
    assert resolve("k", [B, A]).warnings == ()


@pytest.mark.parametrize("name", ["nobody", "builtin"])
def test_override_naming_a_non_contributor_is_an_error(name: str) -> None:
    with pytest.raises(ResolutionError, match="implemented by: acme"):
        resolve("k", [A], override=name)


def test_runtime_naming_a_non_contributor_is_an_error() -> None:
    with pytest.raises(ResolutionError, match="runtime override"):
        resolve("k", [B, A], runtime=OtherChat)


def test_no_contributions_is_an_error() -> None:
    with pytest.raises(ResolutionError):
        resolve("k", [])
