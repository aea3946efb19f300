"""The YAML depth check that runs before ruamel: it must never miss a level of real
structure, never count brackets inside scalars, and refuse without calling ruamel."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mockllm import config as config_module
from mockllm.config import ConfigError, load_file, parse_rules
from mockllm.yamlguard import depth

ROOT = Path(__file__).parents[1]


def true_depth(node: Any) -> int:
    """Collections on the deepest path (a scalar adds nothing)."""
    if isinstance(node, dict):
        return 1 + max((true_depth(v) for v in node.values()), default=0)
    if isinstance(node, list):
        return 1 + max((true_depth(v) for v in node), default=0)
    return 0


def _tree(rng: random.Random, levels: int) -> Any:
    if levels == 0:
        return rng.choice(["x", "it's [a", "{b", "# c", "d: e", 1, "|", "- f", "'g'", '"h"'])
    if rng.random() < 0.5:
        return {f"k{i}": _tree(rng, levels - 1 if i == 0 else rng.randrange(levels))
                for i in range(rng.randint(1, 2))}
    return [_tree(rng, levels - 1 if i == 0 else rng.randrange(levels))
            for i in range(rng.randint(1, 2))]


def _dump(data: Any, flow: bool | None) -> str:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = flow
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@pytest.mark.parametrize("flow", [False, True, None], ids=["block", "flow", "mixed"])
def test_depth_never_misses_a_level(flow: bool | None) -> None:
    rng = random.Random(1234)
    for _ in range(60):
        data = _tree(rng, rng.randint(1, 10))
        text = _dump(data, flow)
        parsed = YAML(typ="rt").load(text)
        assert depth(text)[0] >= true_depth(parsed), text


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1", 1),
    ("a: [1]", 2),
    ("a:\n  b:\n    c: 1", 3),
    ("a: '[[[[[['\nb: \"{{{{\\\"[[\"", 1),  # brackets inside quoted scalars
    ("a: |\n  [[[[[[\n  {{{{{\nb: 1", 1),  # ... inside a block scalar
    ("a: >-\n  [[[[[[\nb: 1", 1),
    ("k: it's [a] fine", 1),  # a quote inside a plain scalar opens nothing
    ("a: 1 # [[[[[[", 1),  # ... inside a comment
    ("x: 'it''s [' \ny: 1", 1),
    ('{"a": {"a": {"a": 1}}}', 3),
    ("--- [[1]]", 2),
    ("a: &x [1, [2]]\nb: *x", 3),
])
def test_depth_of_known_texts(text: str, expected: int) -> None:
    assert true_depth(YAML(typ="rt").load(text)) == expected
    assert expected <= depth(text)[0] <= expected + 1


def test_depth_stops_early_and_names_the_line() -> None:
    text = "a: 1\nb:\n  c: " + "[" * 100_000
    deepest, line = depth(text, stop=64)
    assert deepest == 65 and line == 3


@pytest.mark.parametrize("text", ["[" * 1500, "{" * 1500, "- " * 1500 + "x",
                                  '{"a":' * 10_000 + "1" + "}" * 10_000,
                                  "".join(" " * i + f"k{i}:\n" for i in range(100))])
def test_deep_rules_are_refused_before_ruamel_sees_them(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    class NoParse:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("ruamel was asked to parse a text the depth check refuses")

    monkeypatch.setattr(config_module, "YAML", NoParse)
    with pytest.raises(ConfigError, match="nests deeper than 64 levels"):
        parse_rules(text)


def test_a_deep_config_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("rules:\n  - respond:\n      text: " + "[" * 2000 + "\n")
    with pytest.raises(ConfigError) as err:
        load_file(path)
    assert str(err.value) == f"{path}:3: the document nests deeper than 64 levels " \
                             "(server.limits.yaml_depth)"


def test_real_configs_are_far_below_the_limit() -> None:
    files = [ROOT / "mockllm" / "default_config.yaml", *(ROOT / "examples" / "configs").glob("*")]
    for path in files:
        assert depth(path.read_text("utf-8"))[0] < 16, path
