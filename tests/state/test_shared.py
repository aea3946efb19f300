"""One server's state across processes: ``--workers 2`` (the embedded store) and two
``mockllm serve`` processes sharing one real redis-server. Every check goes through the
openai SDK, each client on its own connection, so the answers come from every process."""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.state.conftest import Proc, serve
from tests.test_quotas import away_from_a_window_edge

CONFIG = """
models:
  - {id: gpt-4o, provider: openai}
  - {id: gpt-4o-mini, provider: openai}
quotas:
  - {per: "header:x-tenant", models: [gpt-4o-mini], rpm: 5}
rules:
  - {name: file, match: {last_user: {contains: from-file}}, respond: {text: "file v1"}}
  - {name: once, times: 1, match: {last_user: {contains: just-once}}, respond: {text: once}}
server: {watch: false}
"""


class Fleet:
    """The URLs of one server made of several processes; ``url()`` takes turns."""

    def __init__(self, urls: list[str], config: Path) -> None:
        self.urls = urls
        self.config = config
        self._turn = itertools.cycle(urls)
        # "connection: close": every request opens a connection of its own, which the
        # kernel hands to any worker.
        self._clients = {u: openai.OpenAI(
            base_url=u + "/v1", api_key="k", max_retries=0,
            http_client=httpx.Client(headers={"connection": "close"})) for u in urls}

    def url(self) -> str:
        return next(self._turn)

    def client(self) -> openai.OpenAI:
        """The SDK client of the next process in turn."""
        return self._clients[self.url()]

    def ask(self, text: str) -> str:
        r = self.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}])
        return r.choices[0].message.content or ""

    def close(self) -> None:
        for c in self._clients.values():
            c.close()

    def admin(self, method: str, path: str, **kw: object) -> httpx.Response:
        if "content" in kw:
            kw["headers"] = {"content-type": "application/yaml"}
        r = httpx.request(method, self.url() + "/_mockllm/" + path, **kw)  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        return r


@pytest.fixture(scope="module", params=["workers", "redis"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          redis_url: str) -> Iterator[Fleet]:
    config = tmp_path_factory.mktemp(request.param) / "mock.yaml"
    procs: list[Proc] = []
    try:
        if request.param == "workers":
            config.write_text(CONFIG)
            url, proc = serve(config, "--workers", "2")
            procs.append(proc)
            urls = [url]
        else:
            with redis.Redis.from_url(redis_url) as client:
                client.flushdb()
            config.write_text(CONFIG.replace("{watch: false}",
                                             f"{{watch: false, state: \"{redis_url}\"}}"))
            urls = []
            for _ in range(2):
                url, proc = serve(config)
                procs.append(proc)
                urls.append(url)
        fleet = Fleet(urls, config)
        yield fleet
        fleet.close()
    finally:
        for p in procs:
            p.stop()


@pytest.fixture(autouse=True)
def clean(fleet: Fleet) -> Iterator[None]:
    yield
    fleet.admin("DELETE", "rules")
    fleet.admin("POST", "plugins/use", json={"key": "openai.chat", "plugin": None})


def _sequence_rule(marker: str, n: int) -> str:
    steps = ", ".join(f"{{text: {marker}-{i}}}" for i in range(n))
    return f"match: {{last_user: {{contains: {marker}}}}}\nrespond: {{sequence: [{steps}]}}\n"


def test_a_sequence_gives_each_answer_exactly_once(fleet: Fleet) -> None:
    marker = "s" + uuid.uuid4().hex[:8]
    fleet.admin("POST", "rules", content=_sequence_rule(marker, 20))
    with cf.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: fleet.ask(marker), range(20)))
    assert sorted(answers) == sorted(f"{marker}-{i}" for i in range(20))
    assert fleet.ask(marker) == f"{marker}-19"  # the last step repeats, as in one process
    rules = fleet.admin("GET", "rules").json()
    assert [r["uses"] for r in rules["runtime"]] == [21]


def test_times_holds_across_processes(fleet: Fleet) -> None:
    marker = "t" + uuid.uuid4().hex[:8]
    fleet.admin("POST", "rules", content=f"match: {{last_user: {{contains: {marker}}}}}\n"
                                          "times: 3\nrespond: {text: limited}\n")
    with cf.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: fleet.ask(marker), range(12)))
    assert answers.count("limited") == 3


def test_a_reset_starts_every_count_over_in_every_process(fleet: Fleet) -> None:
    fleet.admin("POST", "reset")
    for _ in range(2):
        with cf.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: fleet.ask("just-once"), range(8)))
        assert answers.count("once") == 1
        fleet.admin("POST", "reset")


def test_a_runtime_rule_and_a_switch_hold_for_every_later_request(fleet: Fleet) -> None:
    marker = "r" + uuid.uuid4().hex[:8]
    fleet.admin("POST", "rules", content=f"match: {{last_user: {{contains: {marker}}}}}\n"
                                          "respond: {text: runtime}\n")
    assert {fleet.ask(marker) for _ in range(20)} == {"runtime"}
    fleet.admin("DELETE", "rules")
    assert "runtime" not in {fleet.ask(marker) for _ in range(10)}

    r = fleet.admin("POST", "plugins/use", json={"key": "openai.chat",
                                                   "plugin": "tests.plugins.echo_chat"})
    assert r.json()["selected"] == "tests.plugins.echo_chat"
    assert {fleet.ask(f"echo {i}") for i in range(20)} == {f"echo {i}" for i in range(20)}
    fleet.admin("POST", "plugins/use", json={"key": "openai.chat", "plugin": None})
    assert all(fleet.ask(f"echo {i}") != f"echo {i}" for i in range(10))


def test_a_reload_holds_for_every_later_request(fleet: Fleet) -> None:
    assert {fleet.ask("from-file") for _ in range(6)} == {"file v1"}
    fleet.config.write_text(fleet.config.read_text().replace("file v1", "file v2"))
    try:
        assert fleet.admin("POST", "reload").json()["reloaded"] is True
        assert {fleet.ask("from-file") for _ in range(20)} == {"file v2"}
    finally:
        fleet.config.write_text(fleet.config.read_text().replace("file v2", "file v1"))
        fleet.admin("POST", "reload")


def test_a_quota_counts_every_process(fleet: Fleet) -> None:
    away_from_a_window_edge()
    tenant = uuid.uuid4().hex

    def one(_: int) -> str:
        try:
            r = fleet.client().chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-tenant": tenant})
        except openai.RateLimitError as exc:
            assert exc.response.headers["x-ratelimit-remaining-requests"] == "0"
            return "429"
        return r.headers["x-ratelimit-remaining-requests"]

    with cf.ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(one, range(8)))
    assert sorted(seen) == ["0", "1", "2", "3", "4", "429", "429", "429"]


def test_journal_counts_are_the_same_from_every_process(fleet: Fleet) -> None:
    fleet.admin("DELETE", "requests")
    marker = "j" + uuid.uuid4().hex[:8]
    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: fleet.ask(marker), range(16)))
    counts = [fleet.admin("GET", "requests", params={"model": "gpt-4o"}).json()["count"]
              for _ in range(10)]
    assert counts == [16] * 10
    bodies = fleet.admin("GET", "requests", params={"limit": "3"}).json()["requests"]
    assert len(bodies) == 3 and all(marker in e["body"] for e in bodies)


def test_stored_responses_are_found_from_every_process(fleet: Fleet) -> None:
    ids = [fleet.client().responses.create(model="gpt-4o", input=f"store {i}").id
           for i in range(10)]
    for rid in ids:
        assert fleet.client().responses.retrieve(rid).id == rid
    previous = None
    for i in range(6):
        r = fleet.client().responses.create(model="gpt-4o", input=f"turn {i}",
                                            previous_response_id=previous)
        assert r.previous_response_id == previous
        previous = r.id
    fleet.client().responses.delete(ids[0])
    for _ in fleet.urls:
        with pytest.raises(openai.NotFoundError):
            fleet.client().responses.retrieve(ids[0])


def test_loaded_ollama_models_are_listed_by_every_process(fleet: Fleet) -> None:
    def call(method: str, path: str, **kw: object) -> httpx.Response:
        r = httpx.request(method, fleet.url() + path, headers={"connection": "close"},
                          **kw)  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        return r

    for model, keep in (("gpt-4o", "1h"), ("gpt-4o-mini", "2h")):
        call("POST", "/api/generate", json={"model": model, "prompt": "", "keep_alive": keep})
    for _ in range(4):  # each process in turn, twice
        listed = call("GET", "/api/ps").json()["models"]
        assert [m["model"] for m in listed] == ["gpt-4o-mini", "gpt-4o"]
    unloaded = call("POST", "/api/generate", json={"model": "gpt-4o-mini", "prompt": "",
                                                   "keep_alive": 0})
    assert unloaded.json()["done_reason"] == "unload"
    for _ in range(4):
        assert [m["model"] for m in call("GET", "/api/ps").json()["models"]] == ["gpt-4o"]


def _served(fleet: Fleet) -> tuple[float, float, float]:
    """From one scrape (of whichever process answers): gpt-4o's answered chat requests,
    vLLM's success count and the e2e histogram's count."""
    r = httpx.get(fleet.url() + "/metrics", headers={"connection": "close"})
    assert r.status_code == 200, r.text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name == "mockllm_requests_total" and s.labels == {
                    "endpoint": "openai.chat", "model": "gpt-4o", "status": "200"}:
                found["requests"] = s.value
            elif s.name == "vllm:request_success_total" and s.labels == {
                    "model_name": "gpt-4o"}:
                found["success"] = s.value
            elif (s.name == "mockllm_e2e_request_latency_seconds_count"
                  and s.labels == {"endpoint": "openai.chat", "model": "gpt-4o"}):
                found["e2e"] = s.value
    return found.get("requests", 0.0), found.get("success", 0.0), found.get("e2e", 0.0)


def test_metrics_describe_the_whole_server(fleet: Fleet) -> None:
    fleet.ask("warm up every process's series")
    before = _served(fleet)
    assert len({_served(fleet) for _ in range(6)} | {before}) == 1  # every process agrees
    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: fleet.ask("counted"), range(12)))
    after = [_served(fleet) for _ in range(10)]
    assert after == [tuple(v + 12 for v in before)] * 10
