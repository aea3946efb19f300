"""Latency models (distributions), their compilation from config, prefill and precedence.

Everything here is pure maths on seeded ``random.Random`` instances: no sleeping, no server.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from mockllm.config import ConfigError, parse
from mockllm.context import ServerContext
from mockllm.engine.latency import (
    Constant,
    Empirical,
    LatencyModels,
    LatencyParamError,
    LogNormal,
    Normal,
    Uniform,
)
from mockllm.engine.request import Message, NeutralRequest
from mockllm.errors import ApiError
from mockllm.pacing import Pacing
from mockllm.testing import test_context

N = 20_000


def draws(model: Any, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [model.sample(rng) for _ in range(N)]


def test_constant_is_constant_and_needs_no_draws() -> None:
    m = Constant(120)
    assert m.constant and m.mean == pytest.approx(0.12)
    assert set(draws(m)) == {0.12}


def test_uniform_spans_its_bounds_with_the_right_mean() -> None:
    xs = draws(Uniform(100, 300))
    assert min(xs) >= 0.1 and max(xs) <= 0.3
    assert statistics.fmean(xs) == pytest.approx(0.2, rel=0.02)
    # roughly flat: each quarter of the range holds about a quarter of the draws
    quarter = sum(1 for x in xs if x < 0.15) / N
    assert quarter == pytest.approx(0.25, abs=0.02)


def test_normal_mean_and_std_and_never_negative() -> None:
    xs = draws(Normal(200, 20))
    assert statistics.fmean(xs) == pytest.approx(0.2, rel=0.01)
    assert statistics.stdev(xs) == pytest.approx(0.02, rel=0.05)
    assert min(draws(Normal(10, 50))) == 0.0  # clipped, not negative


@pytest.mark.parametrize("cv", [0.1, 0.5, 1.0])
def test_lognormal_is_parameterised_by_mean_and_cv(cv: float) -> None:
    xs = draws(LogNormal(150, cv), seed=3)
    assert statistics.fmean(xs) == pytest.approx(0.15, rel=0.05 * (1 + cv))
    assert statistics.stdev(xs) / statistics.fmean(xs) == pytest.approx(cv, rel=0.15)
    assert statistics.median(xs) < statistics.fmean(xs)  # the right tail
    assert min(xs) > 0


def test_empirical_inverse_cdf_hits_the_table_and_interpolates() -> None:
    m = Empirical([(0.5, 180), (0.9, 320), (0.99, 900)])
    assert m.quantile(0.5) == pytest.approx(0.18)
    assert m.quantile(0.9) == pytest.approx(0.32)
    assert m.quantile(0.99) == pytest.approx(0.9)
    assert m.quantile(0.7) == pytest.approx(0.25)  # halfway between p50 and p90
    assert m.quantile(0.0) >= 0  # the lower tail is extended, clipped at zero
    xs = sorted(draws(m))
    for q, value in [(0.5, 0.18), (0.9, 0.32), (0.99, 0.9)]:
        assert xs[int(q * N)] == pytest.approx(value, rel=0.05)
    assert m.mean == pytest.approx(statistics.fmean(xs), rel=0.02)


def test_empirical_from_config_keys() -> None:
    m = LatencyModels().build({"model": "empirical", "p0": 100, "p50": 150, "p100": 400}, 0)
    assert m.quantile(0.0) == pytest.approx(0.1)  # type: ignore[attr-defined]
    assert m.quantile(1.0) == pytest.approx(0.4)  # type: ignore[attr-defined]
    assert m.quantile(0.75) == pytest.approx(0.275)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("spec", "message"), [
    ({"model": "gamma"}, "unknown latency model 'gamma'"),
    ({"model": "lognormal", "mean_ms": 100, "sd": 3}, "unknown parameter 'sd'"),
    ({"model": "normal", "mean_ms": -1}, "'mean_ms' must be a finite number >= 0"),
    ({"model": "uniform", "min_ms": 50, "max_ms": 10}, "below min_ms"),
    ({"model": "empirical", "p50": 100}, "at least two percentiles"),
    ({"model": "empirical", "p50": 300, "p90": 100}, "must not decrease"),
    ({"model": "empirical", "p50": 300, "median": 100}, "'median' is not a percentile"),
])
def test_bad_parameters_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(LatencyParamError, match=message):
        LatencyModels().build(spec, 100)


def test_default_ms_is_the_mean_when_params_name_none() -> None:
    m = LatencyModels().build({"model": "lognormal", "cv": 0.2}, 250)
    assert m.mean == pytest.approx(0.25)


# -- config compilation and precedence ---------------------------------------------------

CONFIG = """
models:
  - {id: plain, provider: openai}
  - id: slowmodel
    latency: {ttft_ms: 500, itl_ms: 50}
  - id: profiled
    latency: {profile: fast, itl_ms: 7}
latency_profiles:
  fast: {ttft_ms: 20, itl_ms: 2}
  jittery:
    ttft: {model: lognormal, mean_ms: 200, cv: 0.5}
    itl: {model: empirical, p50: 10, p90: 20, p99: 60}
defaults:
  latency: {ttft_ms: 100, itl_ms: 10}
rules:
  - name: ruled
    match: {last_user: {contains: ruled}}
    respond: {text: "a b c"}
    latency: {ttft_ms: 300, itl_ms: 30}
  - name: prefill
    match: {last_user: {contains: prefill}}
    respond: {text: "x"}
    latency: {ttft_ms: 10, prefill_ms_per_token: 2}
  - name: cached
    match: {last_user: {contains: cached}}
    respond: {text: "x"}
    latency: {prefill_ms_per_token: 1, cached_prefix: history, cache_discount: 1.0}
  - name: jitter
    match: {last_user: {contains: jitter}}
    respond: {text: "one two three four five six"}
    latency: {profile: jittery}
"""


@pytest.fixture
def ctx(tmp_path: Path) -> ServerContext:
    path = tmp_path / "latency.yaml"
    path.write_text(CONFIG)
    return test_context(config_path=str(path))


def request(model: str, text: str, headers: dict[str, str] | None = None,
            seed: int | None = None, messages: list[Message] | None = None) -> NeutralRequest:
    return NeutralRequest(endpoint="openai.chat", provider="openai", model=model,
                          messages=messages or [Message("user", text)],
                          headers=headers or {}, seed=seed)


def pacing_of(ctx: ServerContext, req: NeutralRequest) -> Pacing:
    plan = ctx.engine.plan(req)
    assert plan.pacing is not None
    plan.pacing.release()
    return plan.pacing


def test_precedence_defaults_model_rule_header(ctx: ServerContext) -> None:
    p = pacing_of(ctx, request("plain", "hello"))
    assert (p.ttft, p.itl) == pytest.approx((0.1, 0.01))  # defaults
    p = pacing_of(ctx, request("slowmodel", "hello"))
    assert (p.ttft, p.itl) == pytest.approx((0.5, 0.05))  # model over defaults
    p = pacing_of(ctx, request("slowmodel", "ruled"))
    assert (p.ttft, p.itl) == pytest.approx((0.3, 0.03))  # rule over model
    p = pacing_of(ctx, request("slowmodel", "ruled", {"x-mockllm-latency-ms": "ttft=5"}))
    assert (p.ttft, p.itl) == pytest.approx((0.005, 0.03))  # header over rule, per key
    # Zero latency, no load model, no fault: nothing to schedule at all.
    assert ctx.engine.plan(request("plain", "x", {"x-mockllm-latency-ms": "ttft=0,itl=0"})
                           ).pacing is None


def test_profiles_by_reference_and_by_header(ctx: ServerContext) -> None:
    p = pacing_of(ctx, request("profiled", "hello"))
    assert (p.ttft, p.itl) == pytest.approx((0.02, 0.007))  # profile, itl overridden
    p = pacing_of(ctx, request("plain", "hi", {"x-mockllm-latency-profile": "fast"}))
    assert (p.ttft, p.itl) == pytest.approx((0.02, 0.002))


def test_control_headers_off_ignores_the_header(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG + "server: {control_headers: false}\n")
    ctx = test_context(config_path=str(path))
    p = pacing_of(ctx, request("plain", "x", {"x-mockllm-latency-ms": "ttft=1"}))
    assert p.ttft == pytest.approx(0.1)


@pytest.mark.parametrize("value", ["ttft", "ttft=abc", "ttft=-1", "speed=3", "ttft=nan"])
def test_bad_latency_header_is_a_400(ctx: ServerContext, value: str) -> None:
    with pytest.raises(ApiError) as err:
        ctx.engine.plan(request("plain", "x", {"x-mockllm-latency-ms": value}))
    assert err.value.status == 400 and err.value.param == "x-mockllm-latency-ms"


def test_unknown_profile_header_is_a_400(ctx: ServerContext) -> None:
    with pytest.raises(ApiError, match="unknown latency profile 'nope'"):
        ctx.engine.plan(request("plain", "x", {"x-mockllm-latency-profile": "nope"}))


def test_prefill_grows_ttft_with_prompt_tokens(ctx: ServerContext) -> None:
    short = ctx.engine.plan(request("plain", "prefill"))
    long = ctx.engine.plan(request("plain", "prefill " + "word " * 200))
    for plan in (short, long):
        assert plan.pacing is not None
        assert plan.pacing.ttft == pytest.approx(0.010 + 0.002 * plan.prompt_tokens)
        plan.pacing.release()
    assert long.prompt_tokens > short.prompt_tokens + 150


def test_cached_prefix_discount(ctx: ServerContext) -> None:
    history = [Message("user", "word " * 300), Message("assistant", "ok"),
               Message("user", "cached")]
    cached = pacing_of(ctx, request("plain", "", messages=history))
    one_turn = [Message("user", "cached " + "word " * 300)]
    fresh = pacing_of(ctx, request("plain", "", messages=one_turn))
    # discount 1.0: only the last turn is paid for, a handful of tokens
    assert cached.ttft < 0.01 < fresh.ttft
    assert fresh.ttft == pytest.approx(0.001 * 301, rel=0.05)


def test_sampling_is_deterministic_given_the_request_seed(ctx: ServerContext) -> None:
    def schedule(seed: int) -> list[float]:
        p = pacing_of(ctx, request("plain", "jitter", seed=seed))
        return [p.due(i) - p.start for i in range(6)]

    a, b, c = schedule(1), schedule(1), schedule(2)
    assert a == b and a != c
    gaps = [y - x for x, y in zip(a, a[1:], strict=False)]
    assert len(set(gaps)) > 1  # jittered, not constant
    assert all(g >= 0 for g in gaps)


def test_bad_latency_config_names_the_block(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("models: [{id: m, latency: {ttft: {model: lognormal, sd: 1}}}]\n"
                    "rules: [{latency: {profile: missing}}]\n")
    with pytest.raises(ConfigError) as err:
        test_context(config_path=str(path))
    text = str(err.value)
    assert "bad.yaml:1: models[0].latency.ttft: unknown parameter 'sd'" in text
    assert "bad.yaml:2: rules[0].latency.profile: unknown latency profile 'missing'" in text


def test_validate_reports_latency_errors_with_lines_but_leaves_plugin_models_to_startup(
    tmp_path: Path,
) -> None:
    text = ("models:\n  - id: m\n    load: {max_concurrent: 0}\n"
            "defaults:\n  latency:\n    itl: {model: empirical, p50: 9}\n"
            "    ttft: {model: bimodal, slow_ms: 1}\n")
    with pytest.raises(ConfigError) as err:
        parse(text, "v.yaml")
    assert sorted(err.value.problems) == [
        "v.yaml:3: models[0].load.max_concurrent: must be 1 or more",
        "v.yaml:6: defaults.latency.itl: an empirical table needs at least two percentiles",
    ]


def test_a_plugin_model_unknown_at_startup_stops_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("defaults: {latency: {ttft: {model: bimodal}}}\n")
    with pytest.raises(ConfigError, match="defaults.latency.ttft: unknown latency model "
                                          "'bimodal'"):
        test_context(config_path=str(path))


def test_latency_yaml_shape_is_validated() -> None:
    with pytest.raises(ConfigError, match="cached_prefix"):
        parse("defaults: {latency: {cached_prefix: everything}}\n", "x.yaml")


def test_hook_mockllm_latency_models(tmp_path: Path) -> None:
    path = tmp_path / "bimodal.yaml"
    path.write_text("models: [{id: m}]\n"
                    "defaults:\n  latency:\n    ttft: {model: bimodal, fast_ms: 10, "
                    "slow_ms: 1000, p_slow: 0.25}\n")
    ctx = test_context(config_path=str(path), modules=["tests.plugins.bimodal_latency"])
    assert "bimodal" in ctx.timing.models.factories
    ttfts = [pacing_of(ctx, request("m", "x", seed=s)).ttft for s in range(400)]
    assert set(ttfts) == {0.01, 1.0}
    assert sum(t == 1.0 for t in ttfts) / 400 == pytest.approx(0.25, abs=0.07)
    assert not math.isnan(sum(ttfts))


def test_the_schedule_starts_when_the_request_arrived(ctx: ServerContext) -> None:
    arrived = time.monotonic() - 0.05  # read 50 ms ago, planned only now
    plan = ctx.engine.plan(request("plain", "hello"), arrived)
    assert plan.pacing is not None
    plan.pacing.release()
    assert plan.pacing.start == arrived
    assert plan.pacing.due(0) == pytest.approx(arrived + 0.1)  # the defaults' ttft
