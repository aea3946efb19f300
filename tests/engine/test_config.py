"""Config loading: every error names file:line and the key path; good files load."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mockllm.config import ConfigError, load_default, load_file, parse, parse_rules

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "configs").glob("*.yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(textwrap.dedent(text), "cfg.yaml")
    return info.value.problems


def test_invalid_regex_names_line_and_path() -> None:
    out = problems("""\
        rules:
          - match: {last_user: {contains: a}}
          - match: {last_user: {contains: b}}
          - match: {last_user: {contains: c}}
          - name: broken
            match:
              last_user:
                regex: "weather in (?P<city"
        """)
    assert len(out) == 1
    assert out[0].startswith("cfg.yaml:8: rules[3].match.last_user.regex: invalid regex")


def test_unknown_key_names_line_and_path() -> None:
    out = problems("""\
        models:
          - {id: m}
        rules:
          - match: {model: "m"}
            respond:
              txt: hello
        """)
    assert out == ["cfg.yaml:6: rules[0].respond.txt: unknown key"]


def test_wrong_type_names_line_and_path() -> None:
    out = problems("""\
        rules:
          - respond:
              generate: {tokens: many}
        """)
    assert out[0].startswith("cfg.yaml:3: rules[0].respond.generate.tokens: Expected `int | object"
                          " | null`, got `str`")


def test_missing_required_key() -> None:
    out = problems("""\
        models:
          - {provider: openai}
        """)
    assert out == ["cfg.yaml:2: models[0]: missing required key 'id'"]


def test_yaml_syntax_error_has_a_line() -> None:
    # The bracket left open on line 2 is the mistake, not the end of the file on line 3.
    out = problems("rules:\n  - match: {model: [\n")
    assert out[0].startswith("cfg.yaml:2: a quote or bracket opened on this line is not closed")


def test_yaml_syntax_error_points_at_the_line_of_the_mistake() -> None:
    assert problems('rules:\n  - match: {last_user: {contains: "x}}\n    respond: {}\n')[0] \
        .startswith("cfg.yaml:2: a quote or bracket opened on this line is not closed")
    out = problems("rules:\n  - match: {}\n   respond: {text: hi}\n")  # bad indent
    assert out[0].startswith("cfg.yaml:3: expected <block end>")


def test_duplicate_model_alias() -> None:
    out = problems("""\
        models:
          - {id: a}
          - {id: b, aliases: [c, a]}
        """)
    assert out == ["cfg.yaml:3: models[1].aliases[1]: 'a' is already used by models[0]"]


def test_unknown_template_name_and_unbalanced_brace() -> None:
    out = problems("""\
        rules:
          - match: {last_user: {regex: "in (?P<city>\\\\w+)"}}
            respond: {template: "It is sunny in {citty}"}
          - respond:
              tool_calls: [{name: f, arguments: {a: "x {oops"}}]
        """)
    assert out[0].startswith("cfg.yaml:3: rules[0].respond.template: unknown template name "
                             "{citty}")
    assert "city" in out[0]  # the regex group is offered
    assert out[1].startswith("cfg.yaml:5: rules[1].respond.tool_calls[0].arguments.a: "
                             "unbalanced '{'")


def test_sequence_problems() -> None:
    out = problems("""\
        rules:
          - respond:
              text: hi
              sequence:
                - text: a
                - sequence: [{text: b}]
        """)
    assert "rules[0].respond.text: a respond with a sequence holds nothing else" in out[0]
    assert out[1] == ("cfg.yaml:6: rules[0].respond.sequence[1].sequence: a sequence cannot "
                      "hold another sequence")


def test_semantic_checks() -> None:
    out = problems("""\
        rules:
          - name: twice
            times: 0
            match:
              turn: {min: 3, max: 1}
              json: {"a..b": 1}
            respond: {text: a, generate: {tokens: 3}, error: {status: 200}}
          - name: twice
        """)
    joined = "\n".join(out)
    assert "cfg.yaml:5: rules[0].match.turn: min 3 is above max 1" in joined
    assert "rules[0].match.json.a..b: bad JSON path" in joined
    assert "cfg.yaml:3: rules[0].times: must be 1 or more" in joined
    assert "rules[0].respond.generate: use only one of text, template, generate" in joined
    assert "rules[0].respond.error.status: 200 is not an error status" in joined
    assert "cfg.yaml:8: rules[1].name: 'twice' is already the name of rules[0]" in joined


def test_empty_default_answer_is_refused() -> None:
    out = problems("defaults: {respond: {}}\n")
    assert out == ["cfg.yaml:1: defaults.respond: the default answer cannot be empty"]


def test_parse_rules_shapes_and_errors() -> None:
    assert [r.name for r in parse_rules("name: one\nrespond: {text: x}\n")] == ["one"]
    assert len(parse_rules('[{"respond": {"text": "a"}}, {"respond": {"text": "b"}}]')) == 2
    assert len(parse_rules("rules:\n  - respond: {text: a}\n")) == 1
    with pytest.raises(ConfigError) as info:
        parse_rules("- respond: {text: a}\n- match:\n    last_user: {regex: '('}\n")
    assert info.value.problems[0].startswith(
        "<request body>:3: rules[1].match.last_user.regex: invalid regex")
    with pytest.raises(ConfigError) as info:
        parse_rules("match: {colour: red}\n")
    assert info.value.problems == ["<request body>:1: rules[0].match.colour: unknown key"]


def test_default_config_loads_and_validates() -> None:
    config = load_default()
    assert config.models and config.defaults.respond.generate is not None


def test_cli_validate_reports_file_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - match:\n      last_user: {regex: '(?P<x'}\n")
    run = subprocess.run([sys.executable, "-m", "mockllm", "validate", str(bad)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert f"{bad}:3: rules[0].match.last_user.regex: invalid regex" in run.stdout + run.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_configs_validate(path: Path) -> None:
    config = load_file(path)
    assert config.models, f"{path.name} has no models"


def test_the_three_scenario_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"support-bot.yaml", "agent-tools.yaml", "chaos.yaml"} <= names


def test_latency_problems_have_a_line_and_plugin_distributions_pass() -> None:
    out = problems("""\
        models:
          - id: m
            latency: {ttft: {model: from_a_plugin, p: 1}}
        rules:
          - latency: {profile: nope}
        """)
    assert out == ["cfg.yaml:5: rules[0].latency.profile: unknown latency profile 'nope' "
                   "(latency_profiles: none defined)"]


def test_choices_and_embeddings_problems() -> None:
    out = problems("""\
        rules:
          - respond:
              text: hi
              choices:
                - text: a
                - error: {status: 500}
          - respond: {embedding: [1], embeddings: [[1], []]}
        """)
    assert "rules[0].respond.text: a respond with choices holds text in each choice" in out[0]
    assert "rules[0].respond.choices[1].error: error belongs to the whole answer" in out[1]
    assert "rules[1].respond.embeddings: use embedding or embeddings, not both" in out[2]
    assert "embeddings needs at least one vector" in out[3]
