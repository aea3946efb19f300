"""The README's config example is real: it parses, and its rules answer as it says."""

from __future__ import annotations

import re
from pathlib import Path

import openai

from mockllm.config import parse
from mockllm.testing import run_config

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    return re.search(r"```yaml\n(# faq\.yaml.*?)```", README.read_text(), re.S).group(1)  # type: ignore[union-attr]


def test_readme_config_parses() -> None:
    assert len(parse(_example(), "faq.yaml").rules) == 3


def test_readme_config_answers() -> None:
    with run_config(_example()) as live, openai.OpenAI(
        base_url=live.openai_url, api_key="x", max_retries=0
    ) as client:
        out = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "why is the sky blue?"}])
        assert out.choices[0].message.content == "The sky is blue."
        out = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "weather in Paris"}],
            tools=[{"type": "function", "function": {"name": "get_weather"}}])
        call = out.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert (call.function.name, call.function.arguments) == (  # type: ignore[union-attr]
            "get_weather", '{"city":"Paris"}')


def test_ci_runs_the_readme_test_command_and_installs_no_plugin() -> None:
    text = README.read_text()
    start = text.index("Install the test extras and run the test suite")
    command = re.search(r"```bash\n(.*?)\n```", text[start:], re.S).group(1)  # type: ignore[union-attr]
    after = (README.parent / ".ci" / "run").read_text().split("verbatim ---\n", 1)[1]
    # the verbatim block ends where the next "# ---" section (the fuzz run) starts
    ci = after.split("\n# ---", 1)[0].strip()
    assert ci == command
    # An installed example plugin would replace a builtin in the user's venv.
    assert "examples/" not in command


def test_readme_pytest_example_passes(tmp_path: Path) -> None:
    from tests.test_testing_docs import run_pytest

    test = re.search(r"```python\n(# test_quickstart\.py.*?)```", README.read_text(), re.S)
    assert test is not None
    (tmp_path / "test_quickstart.py").write_text(test.group(1))
    out = run_pytest(tmp_path)
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout[-3000:]


def test_readme_curl_example_answers() -> None:
    import json

    import httpx

    body = re.search(r"-d '(\{.*?\})'", README.read_text())
    assert body is not None
    with run_config("rules: []\n") as live:
        r = httpx.post(live.url + "/v1/chat/completions", json=json.loads(body.group(1)),
                       timeout=60)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
