"""A shared state's store that is down at start-up (a clear error) or goes away mid-run
(requests still answered; the failure logged and counted in /metrics; admin changes 503)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import httpx

from tests.state.conftest import Proc, free_port, redis_server, serve
from tests.state.test_shared import Fleet


def test_redis_down_at_start_up_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text(f"server: {{state: \"redis://127.0.0.1:{free_port()}/0\"}}\n")
    proc = Proc([sys.executable, "-m", "mockllm", "serve", "--config", str(config),
                 "--port", str(free_port())])
    try:
        assert proc.proc.wait(60) == 2
        out = proc.output()
        assert "mockllm: error: server.state redis://127.0.0.1:" in out
        assert "cannot reach the store" in out and "Traceback" not in out
    finally:
        proc.stop()


def test_redis_going_away_mid_run_still_answers_logs_and_counts(tmp_path: Path) -> None:
    with redis_server() as (url, redis_proc):
        config = tmp_path / "mock.yaml"
        config.write_text(textwrap.dedent(f"""
            models: [{{id: gpt-4o, provider: openai}}]
            rules:
              - {{match: {{last_user: {{contains: seq}}}},
                 respond: {{sequence: [{{text: one}}, {{text: two}}]}}}}
            server: {{state: "{url}"}}
        """))
        base, proc = serve(config)
        try:
            fleet = Fleet([base], config)
            assert fleet.ask("seq") == "one"
            redis_proc.stop()
            statuses = [httpx.post(base + "/v1/chat/completions", json={
                "model": "gpt-4o", "messages": [{"role": "user", "content": f"seq {i}"}]
            }).status_code for i in range(20)]
            assert statuses == [200] * 20
            assert fleet.client().responses.create(model="gpt-4o",
                                                   input="hi").status == "completed"
            r = httpx.post(base + "/_mockllm/rules", content="respond: {text: x}\n",
                           headers={"content-type": "application/yaml"})
            assert r.status_code == 503 and "unreachable" in r.json()["error"]["message"]
            metrics = httpx.get(base + "/metrics").text
            errors = [line for line in metrics.splitlines()
                      if line.startswith('mockllm_state_errors_total{op="counter"}')]
            assert errors and float(errors[0].split()[-1]) >= 1
        finally:
            out = proc.output()
            fleet.close()
            proc.stop()
        assert f"shared state {url}: counter failed" in out  # logged, once a second at most
