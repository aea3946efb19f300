"""/health readiness: a start-up delay says "starting" and refuses inference with 503."""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context


def test_ready_by_default(http: httpx.Client, live: LiveServer) -> None:
    response = http.get(live.url + "/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_startup_delay_refuses_until_ready(http: httpx.Client, tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text("models: [{id: m}]\nserver: {startup_delay_s: 60}\n")
    with run_server(test_context(config_path=str(path))) as live:
        response = http.get(live.url + "/health")
        assert (response.status_code, response.json()) == (503, {"status": "starting"})
        client = openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError) as err:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert err.value.status_code == 503
        body = err.value.body
        assert isinstance(body, dict) and "starting up" in body["message"]
        claude = anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.InternalServerError) as aerr:
            claude.messages.create(model="m", max_tokens=5,
                                   messages=[{"role": "user", "content": "x"}])
        assert aerr.value.status_code == 503
        abody = aerr.value.body
        assert isinstance(abody, dict) and abody["type"] == "error"
        assert "starting up" in abody["error"]["message"]
        live.context.timing.ready_at = 0.0  # as if the delay had passed
        assert http.get(live.url + "/health").status_code == 200
        out = client.chat.completions.create(model="m", messages=[{"role": "user",
                                                                   "content": "x"}])
        assert out.choices[0].message.content
