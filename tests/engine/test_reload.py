"""Hot reload: changes are picked up, bad files keep the last good config, state carries over,
and no request fails while the file changes under load."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mockllm.testing import LiveServer, run_server, test_context

from .conftest import MODELS

GOOD = """
server: {watch_interval: 0.02}
rules:
  - {name: counted, match: {last_user: count}, respond: {template: "n={counter}"}}
  - {name: version, respond: {text: "%s"}}
"""
BAD = GOOD.replace("rules:", "rules:\n  - {match: {last_user: {regex: '(unclosed'}}}")


def write(path: Path, body: str) -> None:
    # Write then rename, as editors do, so the watcher never sees half a file.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(MODELS + textwrap.dedent(body))
    tmp.replace(path)


def wait_for(cond: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "mockllm.yaml"
    write(path, GOOD % "v0")
    return path


@pytest.fixture
def live(config_file: Path) -> Iterator[LiveServer]:
    with run_server(test_context(config_path=str(config_file))) as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


def ask(http: httpx.Client, text: str = "hi") -> httpx.Response:
    return http.post("/v1/chat/completions",
                     json={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})


def answer(http: httpx.Client, text: str = "hi") -> str:
    r = ask(http, text)
    assert r.status_code == 200, r.text
    return str(r.json()["choices"][0]["message"]["content"])


def test_a_change_is_picked_up(live: LiveServer, config_file: Path, http: httpx.Client
                               ) -> None:
    assert answer(http) == "v0"
    write(config_file, GOOD % "v1")
    wait_for(lambda: answer(http) == "v1")


def test_a_bad_file_keeps_the_last_good_config(live: LiveServer, config_file: Path,
                                               http: httpx.Client) -> None:
    write(config_file, BAD % "v1")
    wait_for(lambda: live.context.config_error is not None)
    shown = http.get("/_mockllm/config").json()
    assert f"{config_file}:" in shown["error"]
    assert "rules[0].match.last_user.regex: invalid regex" in shown["error"]
    assert answer(http) == "v0"
    write(config_file, GOOD % "v2")
    wait_for(lambda: answer(http) == "v2")
    assert http.get("/_mockllm/config").json()["error"] is None


def test_counters_and_runtime_rules_survive_a_reload(live: LiveServer, config_file: Path,
                                                     http: httpx.Client) -> None:
    assert [answer(http, "count") for _ in range(2)] == ["n=1", "n=2"]
    r = http.post("/_mockllm/rules", headers={"content-type": "application/yaml"},
                  content="{name: rt, match: {last_user: runtime}, respond: {text: from runtime}}")
    assert r.status_code == 200 and r.json()["added"] == ["rt"]
    write(config_file, GOOD % "v1")
    wait_for(lambda: answer(http) == "v1")
    assert answer(http, "count") == "n=3"  # unchanged rule: its count carries over
    assert answer(http, "runtime") == "from runtime"
    write(config_file, (GOOD % "v2").replace("n={counter}", "m={counter}"))
    wait_for(lambda: answer(http) == "v2")
    assert answer(http, "count") == "m=1"  # a changed rule starts over


def test_post_reload(live: LiveServer, config_file: Path, http: httpx.Client) -> None:
    config_file.write_text(MODELS + textwrap.dedent(BAD % "x"))
    r = http.post("/_mockllm/reload")
    assert r.status_code == 400 and "invalid regex" in r.json()["error"]
    config_file.write_text(MODELS + textwrap.dedent(GOOD % "v9"))
    assert http.post("/_mockllm/reload").json()["reloaded"] is True
    assert answer(http) == "v9"


def test_no_request_fails_across_20_reloads_half_broken(
    live: LiveServer, config_file: Path
) -> None:
    stop = threading.Event()
    results: list[tuple[int, str]] = []

    def load() -> None:
        with httpx.Client(base_url=live.url, timeout=60) as client:
            while not stop.is_set():
                r = ask(client)
                text = r.json()["choices"][0]["message"]["content"] if r.is_success else r.text
                results.append((r.status_code, text))

    workers = [threading.Thread(target=load) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        for i in range(1, 21):
            if i % 2:
                write(config_file, BAD % f"bad{i}")
                wait_for(lambda: live.context.config_error is not None)
            else:
                write(config_file, GOOD % f"v{i}")
                wait_for(lambda i=i: live.context.config_error is None  # type: ignore[misc]
                         and live.context.config.rules[1].respond.text == f"v{i}")
            time.sleep(0.02)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert len(results) > 20
    failures = [r for r in results if r[0] != 200]
    assert failures == []
    assert {text for _, text in results} <= {"v0"} | {f"v{i}" for i in range(2, 21, 2)}
    assert live.context.config.rules[1].respond.text == "v20"


def test_an_emptied_file_keeps_the_last_good_config(
    live: LiveServer, config_file: Path, http: httpx.Client
) -> None:
    config_file.write_text("")
    wait_for(lambda: live.context.config_error is not None)
    assert "the file is empty" in str(live.context.config_error)
    assert answer(http) == "v0"
    config_file.write_text(MODELS + textwrap.dedent(GOOD % "v1"))  # written in place
    wait_for(lambda: answer(http) == "v1")
