"""Bedrock's wire: the AWS event-stream bytes, errors as botocore reads them
(``x-amzn-ErrorType``, exception events), bad bodies and the SigV4 / API-key checks."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from zlib import crc32

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError

from mockllm.testing import LiveServer, run_config, run_server, test_context
from tests.bedrock_helpers import CONFIG, MODEL, client, signed_headers, user


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def test_event_stream_framing_byte_for_byte(server: LiveServer) -> None:
    """Prelude, prelude CRC, headers, payload and message CRC of every message."""
    r = httpx.post(f"{server.url}/model/{MODEL}/converse-stream",
                   json={"messages": user("hello")},
                   headers=signed_headers())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
    data, offset, seen = r.content, 0, []
    while offset < len(data):
        total, header_len = struct.unpack_from(">II", data, offset)
        (prelude_crc,) = struct.unpack_from(">I", data, offset + 8)
        assert prelude_crc == crc32(data[offset:offset + 8])
        (message_crc,) = struct.unpack_from(">I", data, offset + total - 4)
        assert message_crc == crc32(data[offset:offset + total - 4])
        headers, pos = {}, offset + 12
        while pos < offset + 12 + header_len:
            n = data[pos]
            name = data[pos + 1:pos + 1 + n].decode()
            assert data[pos + 1 + n] == 7  # string
            (vlen,) = struct.unpack_from(">H", data, pos + 2 + n)
            headers[name] = data[pos + 4 + n:pos + 4 + n + vlen].decode()
            pos += 4 + n + vlen
        payload = json.loads(data[pos:offset + total - 4])
        assert headers[":message-type"] == "event"
        assert headers[":content-type"] == "application/json"
        seen.append((headers[":event-type"], payload))
        offset += total
    assert seen[0] == ("messageStart", {"role": "assistant"})
    assert seen[1] == ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}})
    assert [n for n, _ in seen[-3:]] == ["contentBlockStop", "messageStop", "metadata"]
    # botocore's own buffer reads the same bytes as the same messages.
    buf = EventStreamBuffer()
    buf.add_data(data)
    assert [m.headers[":event-type"] for m in buf] == [n for n, _ in seen]


def test_unknown_and_foreign_model_ids(server: LiveServer) -> None:
    brt = client(server.url)
    with pytest.raises(ClientError) as e:
        brt.converse(modelId="anthropic.claude-nope-v1:0", messages=user("hi"))
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        brt.converse(modelId="gpt-4o", messages=user("hi"))  # not a Bedrock model
    assert e.value.response["Error"] == {
        "Code": "ValidationException", "Message": "The provided model identifier is invalid."}
    brt.close()


def test_limits_in_bedrocks_words(server: LiveServer) -> None:
    brt = client(server.url)
    with pytest.raises(ClientError) as e:
        brt.converse(modelId="amazon.nova-micro-v1:0", messages=user("word " * 50))
    assert e.value.response["Error"] == {
        "Code": "ValidationException", "Message": "Input is too long for requested model."}
    brt.close()


def test_errors_through_botocore(server: LiveServer) -> None:
    # A rule's error given by status alone is worded as the service words it.
    for scenario, code, status, message in [
        ("throttled", "ThrottlingException", 429,
         "Too many requests, please wait before trying again."),
        ("unavailable", "ServiceUnavailableException", 503,
         "Bedrock is unable to process your request."),
    ]:
        c = client(server.url, **{"x-mock-scenario": scenario})
        with pytest.raises(ClientError) as e:
            c.converse(modelId=MODEL, messages=user("hi"))
        assert e.value.response["Error"]["Code"] == code
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert e.value.response["ResponseMetadata"]["RequestId"]
        with pytest.raises(ClientError) as e:
            c.converse_stream(modelId=MODEL, messages=user("hi"))
        assert e.value.response["Error"] == {"Code": code, "Message": message}
        c.close()


def test_mid_stream_error_is_an_exception_event(server: LiveServer) -> None:
    c = client(server.url, **{"x-mock-scenario": "mid-stream"})
    r = c.converse_stream(modelId=MODEL, messages=user("hi"))
    seen = []
    with pytest.raises(EventStreamError) as e:
        for event in r["stream"]:
            seen.append(event)
    r["stream"].close()  # the stream ended in an exception: its connection is not reused
    assert e.value.response["Error"]["Code"] == "serviceUnavailableException"
    assert [next(iter(ev)) for ev in seen] == ["messageStart", "contentBlockDelta",
                                               "contentBlockDelta"]
    c.close()


def test_bad_bodies_are_validation_exceptions(server: LiveServer) -> None:
    url = f"{server.url}/model/{MODEL}/converse"
    for body, needle in [
        (b"{not json", "Malformed input request"),
        (b'{"messages": "x"}', "Malformed input request"),
        (b'{"messages": []}', "A conversation must start with a user message."),
        (json.dumps({"messages": [{"role": "user", "content": []}]}).encode(),
         "The content field in the Message object at messages.0 is empty."),
        (json.dumps({"messages": [*user("a"), *user("b")]}).encode(),
         "A conversation must alternate between user and assistant roles."),
        (json.dumps({"messages": user("a"), "inferenceConfig": {"maxTokens": 0}}).encode(),
         "at 'inferenceConfig.maxTokens' failed to satisfy constraint"),
    ]:
        r = httpx.post(url, content=body, headers=signed_headers())
        assert r.status_code == 400, body
        assert r.headers["x-amzn-errortype"].split(":")[0] == "ValidationException"
        assert needle in r.json()["message"], (body, r.json())
        assert list(r.json()) == ["message"]


def test_credentials_are_required_but_not_verified(server: LiveServer) -> None:
    url = f"{server.url}/model/{MODEL}/converse"
    body = {"messages": user("hello")}
    r = httpx.post(url, json=body)
    assert r.status_code == 403
    assert r.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")
    assert r.json() == {"message": "Missing Authentication Token"}
    r = httpx.post(url, json=body, headers={"authorization": "Basic abc"})
    assert r.status_code == 403
    assert r.headers["x-amzn-errortype"].startswith("IncompleteSignatureException")
    wrong = signed_headers()
    wrong["authorization"] = wrong["authorization"].replace("/bedrock/", "/s3/")
    r = httpx.post(url, json=body, headers=wrong)
    assert r.headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert r.json()["message"] == "Credential should be scoped to correct service: 'bedrock'."
    # Any signature passes; so does a Bedrock API key.
    assert httpx.post(url, json=body, headers=signed_headers()).status_code == 200
    assert httpx.post(url, json=body, headers={"authorization": "Bearer k"}).status_code == 200


def test_api_keys_are_access_key_ids_or_bedrock_api_keys() -> None:
    with run_config("server: {api_keys: [AKIDALLOWED, bedrock-api-key]}\n" + CONFIG) as live:
        other, allowed = client(live.url, key="AKIDOTHER"), client(live.url, key="AKIDALLOWED")
        with pytest.raises(ClientError) as e:
            other.converse(modelId=MODEL, messages=user("hello"))
        assert e.value.response["Error"] == {
            "Code": "UnrecognizedClientException",
            "Message": "The security token included in the request is invalid."}
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        ok = allowed.converse(modelId=MODEL, messages=user("hello"))
        assert ok["stopReason"] == "end_turn"
        other.close()
        allowed.close()
        # A Bedrock API key (boto3 sends AWS_BEARER_TOKEN_BEDROCK as a bearer token, but
        # only to an HTTPS endpoint, so plain httpx here).
        url = f"{live.url}/model/{MODEL}/converse"
        body = {"messages": user("hello")}
        headers = {"authorization": "Bearer bedrock-api-key"}
        assert httpx.post(url, json=body, headers=headers).status_code == 200
        r = httpx.post(url, json=body, headers={"authorization": "Bearer wrong"})
        assert r.status_code == 403
        assert r.headers["x-amzn-errortype"].startswith("UnrecognizedClientException")


def test_quotas_count_each_access_key_apart() -> None:
    config = "quotas: [{per: api_key, rpm: 1}]\n" + CONFIG
    with run_config(config) as live:
        first, second = client(live.url, key="AKIDONE"), client(live.url, key="AKIDTWO")
        assert first.converse(modelId=MODEL, messages=user("hello"))["stopReason"] == "end_turn"
        assert second.converse(modelId=MODEL, messages=user("hello"))["stopReason"] == "end_turn"
        with pytest.raises(ClientError) as e:
            first.converse(modelId=MODEL, messages=user("hello"))
        assert e.value.response["Error"] == {
            "Code": "ThrottlingException",
            "Message": "Too many requests, please wait before trying again."}
        first.close()
        second.close()


def test_unknown_bedrock_url_answers_in_bedrocks_shape(server: LiveServer) -> None:
    r = httpx.post(f"{server.url}/model/{MODEL}/invoke-nothing", json={},
                   headers=signed_headers())
    assert r.status_code == 404
    assert r.headers["x-amzn-errortype"].startswith("UnknownOperationException")
    assert "message" in r.json()




def test_a_plugin_replaces_converse_by_key() -> None:
    with run_server(test_context(modules=["tests.plugins.acme_bedrock"])) as live:
        url = f"{live.url}/model/{MODEL}"
        r = httpx.post(f"{url}/converse", json={}, headers=signed_headers())
        assert r.json() == {"by": "acme-bedrock"}
        # converse-stream is still the builtin's.
        r = httpx.post(f"{url}/converse-stream", json={"messages": user("hi")},
                       headers=signed_headers())
        assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
