"""Garbage bodies for every POST endpoint of every API family: random bytes, JSON that is not
an object, objects without the required fields, and fields of the wrong kind. Each gets a 4xx
in the family's envelope, never a 5xx, and the server logs no error or traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockllm.testing import LiveServer
from tests.fuzz.conftest import KEY, TALLY, settings
from tests.fuzz.endpoints import ENDPOINTS, Endpoint, envelope_ok, kind, route_of

HEADERS = {"content-type": "application/json", "authorization": f"Bearer {KEY}",
           "anthropic-version": "2023-06-01", "x-goog-api-key": KEY}

_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
            | st.text(max_size=12))
JSON = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _not_an_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except ValueError:
        return True


def _bodies(ep: Endpoint) -> st.SearchStrategy[tuple[str, bytes]]:
    """(strategy name, body) pairs that the endpoint must refuse."""
    choices: list[st.SearchStrategy[tuple[str, bytes]]] = [
        st.binary(max_size=64).filter(_not_an_object).map(lambda b: ("bytes", b)),
        JSON.filter(lambda v: not isinstance(v, dict)).map(
            lambda v: ("not-an-object", json.dumps(v).encode())),
    ]
    if ep.needs_fields:
        choices.append(st.dictionaries(st.text(max_size=8), JSON, max_size=4).map(
            lambda v: ("random-object", json.dumps(v).encode())))
    if ep.fields:
        names = sorted(ep.fields)
        choices.append(st.sampled_from(names).flatmap(lambda name: JSON.filter(
            lambda v, name=name: kind(v) not in ep.fields[name]).map(
            lambda v, name=name: ("wrong-kind", json.dumps({**ep.body, name: v}).encode()))))
    if ep.items:
        names = sorted(ep.items)
        choices.append(st.sampled_from(names).flatmap(lambda name: JSON.filter(
            lambda v, name=name: kind(v) not in ep.items[name]).map(
            lambda v, name=name: ("wrong-item", json.dumps({**ep.body, name: [v]}).encode()))))
    return st.one_of(choices)


class _Errors(logging.Handler):
    """ERROR records, and any record with a traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def http(fuzz_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.url, timeout=60, headers=HEADERS) as c:
        yield c


@pytest.fixture(scope="module")
def errors() -> Iterator[_Errors]:
    handler = _Errors()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def _ids(ep: Endpoint) -> str:
    return ep.path.split("?")[0]


def test_the_table_has_every_post_route() -> None:
    """A new POST endpoint is fuzzed too: it must be added to tests/fuzz/endpoints.py."""
    from mockllm.describe import routes_json
    from mockllm.testing import test_context

    posts = {r["path"] for r in routes_json(test_context()) if r["method"] == "POST"}
    # reset and reload take no body; the rules body is YAML (tests/test_bad_input.py)
    posts -= {"/_mockllm/reset", "/_mockllm/reload", "/_mockllm/rules"}
    assert posts == {route_of(ep.path) for ep in ENDPOINTS}


@pytest.mark.parametrize("ep", ENDPOINTS, ids=_ids)
def test_the_valid_body_is_accepted(http: httpx.Client, ep: Endpoint) -> None:
    """The table's valid bodies work, so a refused mutation is refused for the mutation."""
    r = http.post(ep.path, json=ep.body)
    assert r.status_code == 200, (r.status_code, r.text[:300])


@pytest.mark.parametrize("ep", ENDPOINTS, ids=_ids)
def test_garbage_is_a_4xx_in_the_envelope(http: httpx.Client, errors: _Errors,
                                          ep: Endpoint) -> None:
    @settings()
    @given(_bodies(ep))
    def check(case: tuple[str, bytes]) -> None:
        name, body = case
        r = http.post(ep.path, content=body)
        TALLY[("garbage", f"{name} {_ids(ep)}", r.status_code)] += 1
        assert 400 <= r.status_code < 500, (name, body[:200], r.status_code, r.text[:300])
        doc: Any = r.json()
        assert envelope_ok(ep.family, doc), (name, body[:200], r.text[:300])
        assert not errors.records, [rec.getMessage() for rec in errors.records]

    check()
