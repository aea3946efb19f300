"""The command line, run in-process through ``cli.main`` and once via ``python -m``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mockllm import __version__
from mockllm.cli import main


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKLLM_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("MOCKLLM_USE", raising=False)
    monkeypatch.delenv("MOCKLLM_DISABLE_PLUGINS", raising=False)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mockllm {__version__}"


def test_python_dash_m_works_the_same() -> None:
    out = subprocess.run([sys.executable, "-m", "mockllm", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"mockllm {__version__}"


def test_plugins_text_lists_plugins_and_winners(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "-p", "tests.plugins.acme_chat"]) == 0
    out = capsys.readouterr().out
    assert "builtin.openai" in out and "tests.plugins.acme_chat" in out
    assert "openai.chat" in out and "-> tests.plugins.acme_chat" in out
    assert "shadows: builtin.openai" in out


def test_plugins_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--explain", "openai.chat", "-p", "tests.plugins.acme_chat"]) == 0
    out = capsys.readouterr().out
    assert "why: a plugin beats the builtin (builtin.openai)" in out
    assert "* tests.plugins.acme_chat" in out
    assert main(["plugins", "--explain", "nope.key"]) == 2
    assert "no endpoint or transport key 'nope.key'" in capsys.readouterr().err


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json", "--use", "openai.chat=builtin",
                 "-p", "tests.plugins.acme_chat"]) == 0
    data = json.loads(capsys.readouterr().out)
    chat = next(e for e in data["endpoints"] if e["key"] == "openai.chat")
    assert (chat["selected"], chat["reason"]) == ("builtin.openai", "override")
    module = next(p for p in data["plugins"] if p["name"] == "tests.plugins.acme_chat")
    assert (module["source"], module["status"]) == ("module", "active")


def test_routes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    chat = next(r for r in rows if r["path"] == "/v1/chat/completions")
    assert (chat["method"], chat["key"], chat["plugin"]) == ("POST", "openai.chat",
                                                             "builtin.openai")
    assert main(["routes"]) == 0
    assert "/v1/chat/completions" in capsys.readouterr().out


def test_bad_plugin_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "-p", "tests.plugins.broken"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("mockllm: error: cannot import plugin module 'tests.plugins.broken'")


def test_bad_use_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--use", "openai.chat"]) == 2
    assert "expected KEY=PLUGIN" in capsys.readouterr().err


def test_validate_ok_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("rules:\n  - match: {last_user: {contains: sky}}\n    respond: {text: blue}\n")
    assert main(["validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - match: {last_user: {contains: sky}}\n    respond: {text: blue}\n"
                   "  - match:\n      last_user: {regex: '(unclosed'}\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:5: rules[1].match.last_user.regex: invalid regex" in err


def test_serve_refuses_a_bad_config_with_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: 3\n")
    assert main(["serve", "--config", str(bad), "--port", "1"]) == 2
    assert f"{bad}:1: models:" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ("defaults:\n  latency:\n    ttft: {model: stpe, ms: 3}\n",
     "c.yaml:3: defaults.latency.ttft: unknown latency model 'stpe'"),
    ("rules:\n  - respond: {text: hi}\n    latency:\n      itl: {model: constant, c_ms: 3}\n",
     "c.yaml:4: rules[0].latency.itl: unknown parameter 'c_ms'"),
    ("rules:\n  - latency:\n      ttft: {model: lognormall, mean_ms: 3}\n",
     "c.yaml:3: rules[0].latency.ttft: unknown latency model 'lognormall'"),
    ("plugins:\n  load: [tests.plugins.acme_hooks]\nrules:\n  - match: {acme.sentiment: x}\n",
     "c.yaml:4: rules[0].match.acme.sentiment: expected one of negative, positive"),
    ("plugins:\n  load: [tests.plugins.acme_hooks, no_such_module]\n",
     "c.yaml:2: plugins.load[1]: cannot import plugin module 'no_such_module'"),
    ("plugins:\n  disable: [nosuch]\n",
     "c.yaml:2: plugins.disable[0]: cannot block 'nosuch'"),
    ("plugins:\n  use: {openai.chta: builtin}\n",
     "c.yaml:2: plugins.use.openai.chta: --use names an unknown endpoint key 'openai.chta' "
     "(did you mean 'openai.chat'?)"),
])
def test_validate_checks_what_serve_checks_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(str(tmp_path / expected)), err
    # serve refuses the same file with the same words.
    assert main(["routes", "--config", str(path)]) == 2
    assert expected.split(": ", 1)[1] in capsys.readouterr().err


def test_validate_loads_the_plugins_serve_loads(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("defaults:\n  latency:\n    ttft: {model: bimodal, fast_ms: 1, "
                    "slow_ms: 2, p_slow: 0.1}\n")
    assert main(["validate", str(path)]) == 1
    assert main(["validate", "-p", "tests.plugins.bimodal_latency", str(path)]) == 0
    assert "ok" in capsys.readouterr().out
