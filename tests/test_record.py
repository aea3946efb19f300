"""``mockllm record`` through the real CLI, with a second mockllm as the upstream: what the
SDKs get through the recorder, what the file holds (and never holds: API keys), failures
recorded as what they were, and the replay (``mockllm serve --config``) answering the same.
Timing is measured by benchmarks/record_roundtrip.py, not asserted here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from ruamel.yaml import YAML

from mockllm.config import load_file
from mockllm.testing import run_config

UPSTREAM = """
rules:
  - name: sky
    match: {last_user: {contains: sky}}
    respond: {text: "The sky is blue because of Rayleigh scattering."}
    latency: {ttft_ms: 30, itl_ms: 5}
  - name: weather
    match: {last_user: {contains: weather}}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
  - name: flaky
    match: {last_user: {contains: flaky}}
    respond: {sequence: [{error: {status: 429, retry_after: 1}}, {text: recovered}]}
  - name: several
    match: {last_user: {contains: several}}
    respond: {generate: {tokens: 12, seed: 3}}
  - name: long
    match: {last_user: {contains: long}}
    respond: {generate: {tokens: 10000, seed: 1}}
  - name: cut
    match: {last_user: {contains: cut}}
    respond: {text: "one two three four five six seven", fault: {kind: disconnect, after: 3}}
"""
OPENAI_KEY, ANTHROPIC_KEY, QUERY_KEY, HEADER_KEY = (
    "sk-test-OPENAI-SECRET-1111", "sk-ant-ANTHROPIC-SECRET-2222", "QUERY-SECRET-3333",
    "HEADER-SECRET-4444")
TOOLS: Any = [{"type": "function", "function": {"name": "get_weather",
                                                "parameters": {"type": "object"}}}]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKLLM_")}
    env["MOCKLLM_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(url + "/health", timeout=60)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{proc.args} did not start") from None
            time.sleep(0.05)


@contextmanager
def cli(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``mockllm ARGS --port P`` in a subprocess, until the block ends (SIGINT, as Ctrl-C)."""
    port = _free_port()
    log = tempfile.TemporaryFile("w+")  # read by nobody unless it fails: a pipe could fill
    proc = subprocess.Popen([sys.executable, "-m", "mockllm", *args, "--port", str(port)],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    with proc, log:
        try:
            _wait(url, proc)
            yield url, proc
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(120)
            log.seek(0)
            assert "Traceback" not in log.read()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def drive(url: str) -> dict[str, Any]:
    """The same requests, whole and streamed, through every covered API; what came back."""
    o = openai.OpenAI(base_url=url + "/v1", api_key=OPENAI_KEY, max_retries=0, timeout=120)
    a = anthropic.Anthropic(base_url=url, api_key=ANTHROPIC_KEY, max_retries=0, timeout=120)
    sky = [{"role": "user", "content": "why is the sky blue?"}]
    out: dict[str, Any] = {}
    out["chat"] = o.chat.completions.create(model="gpt-4o", messages=sky).choices[0] \
        .message.content
    stream = o.chat.completions.create(model="gpt-4o", messages=sky, stream=True)
    out["chat-stream"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    call = o.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=[
        {"role": "user", "content": "weather in Paris?"}]).choices[0].message.tool_calls[0]
    out["tool"] = (call.function.name, call.function.arguments)  # type: ignore[union-attr]
    flaky = []
    for _ in range(2):
        try:
            flaky.append(o.chat.completions.create(model="gpt-4o", messages=[
                {"role": "user", "content": "flaky"}]).choices[0].message.content)
        except openai.RateLimitError as exc:
            flaky.append(f"429 retry-after={exc.response.headers.get('retry-after')}")
    out["flaky"] = flaky
    # n > 1: every choice is recorded and replayed, whole and streamed.
    several = o.chat.completions.create(model="gpt-4o", n=3, messages=[
        {"role": "user", "content": "several answers"}])
    out["choices"] = [(c.index, c.message.content, c.finish_reason) for c in several.choices]
    pieces: dict[int, str] = {}
    for chunk in o.chat.completions.create(model="gpt-4o", n=2, stream=True, messages=[
            {"role": "user", "content": "several answers, streamed"}]):
        for c in chunk.choices:
            pieces[c.index] = pieces.get(c.index, "") + (c.delta.content or "")
    out["choices-stream"] = pieces
    out["completion"] = o.completions.create(model="gpt-3.5-turbo-instruct", prompt="the sky",
                                             max_tokens=20).choices[0].text
    out["embedding"] = o.embeddings.create(model="text-embedding-3-small", input="hello",
                                           dimensions=8).data[0].embedding
    out["embeddings"] = [d.embedding for d in o.embeddings.create(
        model="text-embedding-3-small", input=["hello", "world", "again"], dimensions=8).data]
    out["responses"] = o.responses.create(model="gpt-4o", input="sky, responses").output_text
    with o.responses.stream(model="gpt-4o", input="sky, responses stream") as rs:
        out["responses-stream"] = rs.get_final_response().output_text
    msg = a.messages.create(model="claude-sonnet-5-5", max_tokens=64, messages=[
        {"role": "user", "content": "sky, anthropic"}])
    out["anthropic"] = msg.content[0].text  # type: ignore[union-attr]
    with a.messages.stream(model="claude-sonnet-5-5", max_tokens=64, messages=[
            {"role": "user", "content": "sky, anthropic stream"}]) as s:
        out["anthropic-stream"] = s.get_final_text()
    # Keys in a query parameter and an api-key header (Azure, Gemini style): forwarded only.
    r = httpx.post(url + f"/v1/chat/completions?key={QUERY_KEY}", timeout=120,
                   headers={"api-key": HEADER_KEY},
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": "sky?"}]})
    out["query-key"] = r.json()["choices"][0]["message"]["content"]
    return out


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal answers; vectors equal up to float32 rounding (the replay normalises them)."""
    vectors = ("embedding", "embeddings")
    return ({k: v for k, v in a.items() if k not in vectors}
            == {k: v for k, v in b.items() if k not in vectors}
            and a["embedding"] == pytest.approx(b["embedding"], rel=1e-5, abs=1e-6)
            and len(a["embeddings"]) == len(b["embeddings"])
            and all(x == pytest.approx(y, rel=1e-5, abs=1e-6)
                    for x, y in zip(a["embeddings"], b["embeddings"], strict=True)))


def test_record_then_replay(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    with run_config(UPSTREAM) as upstream:
        direct = drive(upstream.url)
        upstream.admin("POST", "reset")  # the flaky sequence starts over for the recording
        with cli("record", "--upstream", upstream.url, "--out", str(rules)) as (url, proc):
            recorded = drive(url)
            # A 10,000-token stream passes through without the recorder's memory growing.
            o = openai.OpenAI(base_url=url + "/v1", api_key=OPENAI_KEY, max_retries=0,
                              timeout=300)
            before = _rss_kb(proc.pid)
            tokens = 0
            for chunk in o.chat.completions.create(model="gpt-4o", stream=True, messages=[
                    {"role": "user", "content": "a long answer please"}]):
                tokens += bool(chunk.choices and chunk.choices[0].delta.content)
            after = _rss_kb(proc.pid)
            print(f"recorder RSS around a {tokens}-chunk stream: {before} -> {after} kB")
            assert tokens >= 9000
            assert after - before < 64 * 1024  # flat: the stream is passed, not kept
    assert same(recorded, direct)
    assert direct["flaky"] == ["429 retry-after=1", "recovered"]
    assert len({text for _, text, _ in direct["choices"]}) == 3  # three different answers
    assert sorted(direct["choices-stream"]) == [0, 1]
    assert len(set(direct["choices-stream"].values())) == 2
    assert len(direct["embeddings"]) == 3 and direct["embeddings"][0] != direct["embeddings"][1]
    text = rules.read_text()
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, QUERY_KEY, HEADER_KEY):
        assert secret not in text
    config = load_file(rules)  # a valid config, as `mockllm validate` checks
    assert len(config.rules) == 14  # one per distinct request
    doc = YAML(typ="safe").load(text)
    flaky = next(r for r in doc["rules"] if r["match"].get("last_user", {}).get("equals")
                 == "flaky")
    assert flaky["respond"]["sequence"][0]["error"]["status"] == 429
    assert flaky["respond"]["sequence"][0]["error"]["retry_after"] == 1
    sky = next(r for r in doc["rules"] if r["match"]["endpoint"] == "openai.chat")
    assert doc["latency_profiles"][sky["latency"]["profile"]]["ttft_ms"] > 0
    with cli("serve", "--config", str(rules)) as (url, _):
        replayed = drive(url)
    assert same(replayed, direct)


def test_failures_are_recorded_and_the_recorder_keeps_running(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    closed = f"http://127.0.0.1:{_free_port()}"
    with run_config(UPSTREAM) as upstream:
        with cli("record", "--upstream", upstream.url, "--out", str(rules)) as (url, _):
            o = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=120)
            with pytest.raises(openai.APIConnectionError):
                for _ in o.chat.completions.create(model="gpt-4o", stream=True, messages=[
                        {"role": "user", "content": "cut me off"}]):
                    pass
            assert o.chat.completions.create(model="gpt-4o", messages=[
                {"role": "user", "content": "sky?"}]).choices[0].message.content
    doc = YAML(typ="safe").load(rules.read_text())
    cut = next(r for r in doc["rules"] if "cut" in r["match"]["last_user"]["equals"])
    assert cut["respond"]["fault"]["kind"] == "disconnect"
    assert cut["respond"]["text"]  # what came before the upstream went away
    with cli("record", "--upstream", closed, "--out", str(rules)) as (url, _):
        for _ in range(2):  # still answering after the first failure
            r = httpx.post(url + "/v1/chat/completions", timeout=120, json={
                "model": "gpt-4o", "messages": [{"role": "user", "content": "anyone?"}]})
            assert r.status_code == 502
            assert r.json()["error"]["type"] == "upstream_error"
    doc = YAML(typ="safe").load(rules.read_text())
    assert doc["rules"][0]["respond"] == {"fault": {"kind": "disconnect"}}
