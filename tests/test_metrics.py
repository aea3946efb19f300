"""GET /metrics: parsed with prometheus_client's own parser after real SDK traffic."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import openai
from prometheus_client.parser import text_string_to_metric_families

from mockllm.testing import run_server, test_context
from plugins_builtin.metrics import merged, metrics_for

CONFIG = """
models:
  - {id: m1, load: {max_concurrent: 4}}
  - {id: m2}
defaults:
  respond: {generate: {tokens: 5}}
  latency: {ttft_ms: 20, itl_ms: 2}
"""


def scrape(
    http: httpx.Client, url: str
) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    response = http.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(response.text):
        samples = out.setdefault(family.name, {})
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_after_traffic(http: httpx.Client, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(CONFIG)
    with run_server(test_context(config_path=str(path))) as live:
        client = openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0)
        for _ in range(2):
            stream = client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "hi"}], stream=True)
            assert len([c for c in stream if c.choices and c.choices[0].delta.content]) == 5
        client.chat.completions.create(model="m2", messages=[{"role": "user", "content": "x"}])
        try:
            client.chat.completions.create(model="nope", messages=[{"role": "user",
                                                                    "content": "x"}])
        except openai.NotFoundError:
            pass
        m = scrape(http, live.url)

    req = m["mockllm_requests"]
    assert req[("mockllm_requests_total", (("endpoint", "openai.chat"), ("model", "m1"),
                                           ("status", "200")))] == 2
    assert req[("mockllm_requests_total", (("endpoint", "openai.chat"), ("model", ""),
                                           ("status", "404")))] == 1
    gen = m["vllm:generation_tokens"]
    assert gen[("vllm:generation_tokens_total", (("model_name", "m1"),))] == 10
    assert gen[("vllm:generation_tokens_total", (("model_name", "m2"),))] == 5
    assert m["vllm:prompt_tokens"][("vllm:prompt_tokens_total", (("model_name", "m1"),))] > 0

    ttft = m["vllm:time_to_first_token_seconds"]
    assert ttft[("vllm:time_to_first_token_seconds_count", (("model_name", "m1"),))] == 2
    assert ttft[("vllm:time_to_first_token_seconds_sum", (("model_name", "m1"),))] >= 0.04
    itl = m["vllm:inter_token_latency_seconds"]
    assert itl[("vllm:inter_token_latency_seconds_count", (("model_name", "m1"),))] == 8
    e2e = m["vllm:e2e_request_latency_seconds"]
    assert e2e[("vllm:e2e_request_latency_seconds_count", (("model_name", "m2"),))] == 1

    queue = m["vllm:request_queue_time_seconds"]
    assert queue[("vllm:request_queue_time_seconds_count", (("model_name", "m1"),))] == 2
    assert ("vllm:request_queue_time_seconds_count", (("model_name", "m2"),)) not in queue

    errors = m["mockllm_pacing_error_seconds"]
    assert errors[("mockllm_pacing_error_seconds_count", ())] == 10  # one per paced token
    buckets = [v for (name, labels), v in errors.items() if name.endswith("_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == 10

    for name in ("vllm:num_requests_running", "vllm:num_requests_waiting",
                 "vllm:kv_cache_usage_perc"):
        assert m[name][(name, (("model_name", "m1"),))] == 0
    assert m["mockllm_active_streams"][("mockllm_active_streams", ())] == 0


def test_metrics_registry_is_per_context() -> None:
    from plugins_builtin.metrics import metrics_for

    a, b = test_context(), test_context()
    assert metrics_for(a).registry is not metrics_for(b).registry
    assert metrics_for(a) is metrics_for(a)


def test_a_fleet_scrape_sums_the_processes_snapshots(http: httpx.Client, tmp_path: Path) -> None:
    """What /metrics answers with a shared state (tests/state: every process's snapshot,
    summed): one snapshot is this process's exposition itself; two add up, except the
    KV-cache share, which is their mean."""
    path = tmp_path / "m.yaml"
    path.write_text(CONFIG)
    context = test_context(config_path=str(path))
    with run_server(context) as live:
        client = openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0)
        client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "x"}])
        metrics = metrics_for(context)
        one = metrics.snapshot()
        assert merged([one]) == metrics.exposition()
    two: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(merged([one, one]).decode()):
        for s in family.samples:
            two[(s.name, tuple(sorted(s.labels.items())))] = s.value
    ok = (("endpoint", "openai.chat"), ("model", "m1"), ("status", "200"))
    assert two[("mockllm_requests_total", ok)] == 2
    assert two[("vllm:e2e_request_latency_seconds_count", (("model_name", "m1"),))] == 2
    kv = [msgspec.msgpack.encode([("vllm:kv_cache_usage_perc", "KV-cache usage.", "gauge",
                                   [("vllm:kv_cache_usage_perc", {"model_name": "m1"}, v)])])
          for v in (0.25, 0.75)]
    (family,) = text_string_to_metric_families(merged(kv).decode())
    assert [s.value for s in family.samples] == [0.5]
