"""schemathesis cases from OpenAI's spec against a live mockllm, for the operations it
implements: no 5xx, a 2xx body that conforms to the spec, and a body the spec calls invalid
refused with a 4xx (negative cases go to a ``server.strict`` server, which refuses the unknown
fields the spec's ``additionalProperties: false`` forbids; the default server ignores them by
design, docs/config.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
)

from mockllm.testing import LiveServer
from tests.fuzz.conftest import DEEP, KEY, REFUSED, TALLY, settings
from tests.fuzz.spec import MODELS, OPERATIONS, load, stream_schemas, stream_validator

AUTH = {"authorization": f"Bearer {KEY}"}


def _operations() -> list[APIOperation]:
    ops = []
    for result in load().get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in OPERATIONS:
            ops.append(op)
    assert len(ops) == len(OPERATIONS), "an implemented operation is missing from the spec"
    return ops


OPS = _operations()


def schema_conformance_2xx(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """The spec documents only the 200 (and 429) of each operation; its error shapes are
    checked by the envelope tests instead."""
    if not 200 <= response.status_code < 300:
        return None
    if response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        _check_stream(case.operation.path, response.text)
        return None
    return response_schema_conformance(ctx, response, case)


def _check_stream(path: str, text: str) -> None:
    """Each ``data:`` payload of a stream conforms to the spec's stream schema (a path the
    spec declares no stream for, legacy completions, is left unchecked)."""
    if path not in stream_schemas():
        return
    validator = stream_validator(path)
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            event = json.loads(line[5:])
            errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
                      for e in validator.iter_errors(event)]
            assert not errors, (event.get("type") or event.get("object"), errors[:3])


def _reason(r: requests.Response) -> str:
    """The error message, with ids and numbers masked so that alike refusals add up."""
    try:
        message = str(r.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = r.text
    message = re.sub(r"'[^']*' not found", "'…' not found", message)
    message = re.sub(r"`[^`]*` does not exist", "`…` does not exist", message)
    message = re.sub(r"supplied: .*", "supplied: …", message)
    return re.sub(r"\d+", "N", message)[:160]


def _mutation(case: Case) -> str:
    data = case.meta.phase.data if case.meta is not None else None
    return str(getattr(data, "description", None) or data)[:160]


class Target:
    """Where a case goes and what makes it concrete: a known model, a stored response."""

    def __init__(self, default: LiveServer, strict: LiveServer) -> None:
        self.default, self.strict = default, strict
        self.session = requests.Session()
        self.session.headers.update(AUTH)

    def stored_response(self) -> str:
        r = self.session.post(self.default.url + "/v1/responses", json={
            "model": "gpt-4o", "input": "hi", "max_output_tokens": 16}, timeout=60)
        r.raise_for_status()
        return str(r.json()["id"])

    def send(self, case: Case, kind: str) -> None:
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        if not negative:
            # A valid case names things that exist, so it reaches the body's handling.
            if isinstance(case.body, dict) and case.operation.path in MODELS:
                case.body["model"] = MODELS[case.operation.path]
            if case.path_parameters and "response_id" in case.path_parameters:
                case.path_parameters["response_id"] = self.stored_response()
            if case.path_parameters and "model" in case.path_parameters:
                case.path_parameters["model"] = "gpt-4o"
        server = self.strict if negative else self.default
        r = case.call(base_url=server.url + "/v1", session=self.session, timeout=60)
        mode = "negative" if negative else "positive"
        TALLY[(f"openapi-{kind}-{mode}", case.operation.label, r.status_code)] += 1
        if not negative and r.status_code >= 400:
            REFUSED[(case.operation.label, _reason(r))] += 1
        if negative and r.status_code < 400:
            # only passes if schemathesis judges the mutation harmless as sent (below)
            REFUSED[(case.operation.label, "accepted negative: " + _mutation(case))] += 1
        checks = [not_a_server_error, schema_conformance_2xx]
        if negative:
            checks.append(negative_data_rejection)
        case.validate_response(r, checks=checks)


@pytest.fixture(scope="module")
def target(fuzz_server: LiveServer, strict_server: LiveServer) -> Iterator[Target]:
    t = Target(fuzz_server, strict_server)
    yield t
    t.session.close()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.label)
def test_fuzzed_cases(target: Target, op: APIOperation, mode: GenerationMode) -> None:
    @settings()
    @given(op.as_strategy(generation_mode=mode))
    def check(case: Case) -> None:
        target.send(case, "fuzzing")

    try:
        check()
    except Unsatisfiable:
        # GET /models has no input; a path parameter typed "any string" has no invalid value
        pytest.skip("the spec leaves nothing to make invalid")


@pytest.mark.skipif(not DEEP, reason="the coverage phase is the fuzz env's (tox -e fuzz)")
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.label)
def test_coverage_cases(target: Target, op: APIOperation) -> None:
    """schemathesis' coverage phase: every boundary, missing field and wrong type the spec
    allows it to derive, valid and invalid, deterministically."""
    schema = load()
    failures: list[Any] = []
    for case in schema.iter_coverage_cases(
            op, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=op)):
        try:
            target.send(case, "coverage")
        except (AssertionError, BaseExceptionGroup) as e:
            failures.append(e)
    assert not failures, "\n\n".join(str(f) for f in failures[:5])
