"""``GET /metrics``: Prometheus text exposition of mockllm's own series and vLLM's names.

With a shared state (``--workers N``, several hosts on one Redis) ``/metrics`` describes the
one logical server: the process scraped asks every process for a snapshot of its series
(``State.gather``: one ``Flush`` round, the way a journal read asks; nothing on the request
path) and sums them. Counters, histograms and gauges are summed, except
``vllm:kv_cache_usage_perc``, a share, which is the mean of the processes'.

The hot path only touches plain dicts and fixed-bucket histograms (an observer called once
per finished request, and :class:`mockllm.histogram.Histogram` per paced token); the
``prometheus_client`` metric families are built at scrape time by a custom collector in a
per-context ``CollectorRegistry`` (never the global one: tests build many contexts).
docs/metrics.md lists every series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.requests import Request
from starlette.responses import Response

from mockllm import Endpoint, Registry, hookimpl
from mockllm.context import ServerContext
from mockllm.histogram import LATENCY_BUCKETS, Histogram
from mockllm.observe import Observation
from mockllm.state import StateError

EXTRA_KEY = "mockllm.metrics"
#: What every process adds to a fleet-wide scrape (``State.share``/``gather``).
SHARE = "metrics"
#: Gauges whose fleet value is the mean of the processes' (a fraction, not an amount).
MEAN_GAUGES = frozenset({"vllm:kv_cache_usage_perc"})

#: A snapshot: [[family, help, type, [[sample, labels, value], ...]], ...].
_Snapshot = list[tuple[str, str, str, list[tuple[str, dict[str, str], float]]]]
_snap_enc = msgspec.msgpack.Encoder()
_snap_dec = msgspec.msgpack.Decoder(_Snapshot)


class _Series:
    """Everything counted for one (endpoint, model, status): one dict lookup per request."""

    __slots__ = ("completion_tokens", "e2e", "prompt_tokens", "requests", "ttft")

    def __init__(self) -> None:
        self.requests = self.prompt_tokens = self.completion_tokens = 0
        self.ttft = Histogram(LATENCY_BUCKETS)
        self.e2e = Histogram(LATENCY_BUCKETS)


class Metrics:
    """Counts per finished request (an observer) and a collector for the exposition.

    The observer only queues the observation; every ``BATCH`` requests, and before any
    read, the queue is folded into one :class:`_Series` per (endpoint, model, status). A
    tight loop over a batch keeps the counters hot in cache, where a fold per request
    would touch them cold between two requests. The per-label tables Prometheus wants
    (``requests``, ``prompt_tokens``...) are summed from the series at scrape time.
    """

    BATCH = 256

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self._series: dict[tuple[str, str | None, int], _Series] = {}
        self._pending: list[Observation] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def observe(self, obs: Observation) -> None:
        pending = self._pending
        pending.append(obs)
        if len(pending) >= self.BATCH:
            self.fold()

    def fold(self) -> None:
        """Count the queued observations into their series."""
        pending, self._pending = self._pending, []
        table = self._series
        for obs in pending:
            key = (obs.endpoint, obs.model, obs.status)
            series = table.get(key)
            if series is None:
                series = table[key] = _Series()
            series.requests += 1
            if obs.model is None or obs.status >= 400:
                continue
            series.prompt_tokens += obs.prompt_tokens
            series.completion_tokens += obs.completion_tokens
            if obs.first_token is not None:
                series.ttft.observe(obs.first_token - obs.start)
            if obs.end is not None:
                series.e2e.observe(obs.end - obs.start)

    @property
    def series(self) -> dict[tuple[str, str | None, int], _Series]:
        if self._pending:
            self.fold()
        return self._series

    # -- tables by label, built at scrape time ----------------------------------------------

    @property
    def requests(self) -> dict[tuple[str, str, str], int]:
        return {(e, m or "", str(st)): s.requests for (e, m, st), s in self.series.items()}

    def _ok(self) -> Iterator[tuple[tuple[str, str], _Series]]:
        for (endpoint, model, status), series in self.series.items():
            if model is not None and status < 400:
                yield (endpoint, model), series

    def _tokens(self, field: str) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for key, series in self._ok():
            out[key] = out.get(key, 0) + getattr(series, field)
        return out

    @property
    def prompt_tokens(self) -> dict[tuple[str, str], int]:
        return self._tokens("prompt_tokens")

    @property
    def completion_tokens(self) -> dict[tuple[str, str], int]:
        return self._tokens("completion_tokens")

    @property
    def ttft(self) -> dict[tuple[str, str], Histogram]:
        return _merge_into({}, ((k, s.ttft) for k, s in self._ok() if s.ttft.count))

    @property
    def e2e(self) -> dict[tuple[str, str], Histogram]:
        return _merge_into({}, ((k, s.e2e) for k, s in self._ok() if s.e2e.count))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def snapshot(self) -> bytes:
        """This process's series, for a scrape of the whole fleet (:func:`merged`)."""
        return _snap_enc.encode([
            (m.name, m.documentation, m.type, [(s.name, s.labels, s.value) for s in m.samples])
            for m in self.registry.collect()])

    # -- the collector -------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        timing = self.context.timing
        yield _counter("mockllm_requests", "Requests answered, by endpoint key, model and "
                       "HTTP status.", ["endpoint", "model", "status"], self.requests)
        yield _counter("mockllm_prompt_tokens", "Prompt tokens of successful requests.",
                       ["endpoint", "model"], self.prompt_tokens)
        yield _counter("mockllm_completion_tokens", "Completion tokens sent.",
                       ["endpoint", "model"], self.completion_tokens)
        yield _histogram("mockllm_time_to_first_token_seconds", "Time from request to first "
                         "token (queueing included).", ["endpoint", "model"], self.ttft)
        yield _histogram("mockllm_e2e_request_latency_seconds", "Time from request to last "
                         "byte.", ["endpoint", "model"], self.e2e)
        yield _histogram("mockllm_inter_token_latency_seconds", "Measured gap between token "
                         "frames of paced streams.", ["model"],
                         {(m,): h for m, h in timing.itl.items()})
        yield _histogram("mockllm_queue_time_seconds", "Time requests waited for a slot of "
                         "the model's load model.", ["model"],
                         {(m,): h for m, h in timing.queue_time.items()})
        yield _histogram("mockllm_pacing_error_seconds", "Send time minus scheduled time of "
                         "every paced token frame.", [], {(): timing.pacing_errors})
        active = GaugeMetricFamily("mockllm_active_streams", "Paced streams being sent.")
        active.add_metric([], timing.active_streams)
        yield active
        running = GaugeMetricFamily("mockllm_running_requests", "Requests holding a slot of "
                                    "the model's load model.", labels=["model"])
        waiting = GaugeMetricFamily("mockllm_queue_depth", "Requests queued for a slot.",
                                    labels=["model"])
        v_running = GaugeMetricFamily("vllm:num_requests_running", "Number of requests in "
                                      "model execution batches.", labels=["model_name"])
        v_waiting = GaugeMetricFamily("vllm:num_requests_waiting", "Number of requests "
                                      "waiting to be processed.", labels=["model_name"])
        v_kv = GaugeMetricFamily("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 "
                                 "percent usage.", labels=["model_name"])
        for model, load in sorted(timing.loads.items()):
            running.add_metric([model], load.running)
            waiting.add_metric([model], load.waiting)
            v_running.add_metric([model], load.running)
            v_waiting.add_metric([model], load.waiting)
            v_kv.add_metric([model], load.kv_cache_usage())
        yield from (running, waiting, v_running, v_waiting, v_kv)
        yield _counter("vllm:prompt_tokens", "Number of prefill tokens processed.",
                       ["model_name"], _by_model(self.prompt_tokens))
        yield _counter("vllm:generation_tokens", "Number of generation tokens processed.",
                       ["model_name"], _by_model(self.completion_tokens))
        ok: dict[tuple[str, ...], int] = {}
        for (_, model, status), n in self.requests.items():
            if model and status.startswith("2"):
                ok[(model,)] = ok.get((model,), 0) + n
        yield _counter("vllm:request_success", "Count of successfully processed requests.",
                       ["model_name"], ok)
        yield _histogram("vllm:time_to_first_token_seconds", "Histogram of time to first "
                         "token in seconds.", ["model_name"], _merge(self.ttft))
        yield _histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request "
                         "latency in seconds.", ["model_name"], _merge(self.e2e))
        yield _histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token "
                         "latency in seconds.", ["model_name"],
                         {(m,): h for m, h in timing.itl.items()})
        yield _histogram("vllm:request_queue_time_seconds", "Histogram of time spent in "
                         "WAITING phase for request.", ["model_name"],
                         {(m,): h for m, h in timing.queue_time.items()})
        stats = self.context.state.stats()
        if stats:  # a shared state: how often talking to its store failed, by operation
            yield _counter("mockllm_state_errors", "Failed calls to the shared state's store "
                           "(the request was answered anyway).", ["op"],
                           {(op,): n for op, n in stats["errors"].items()})
            yield _counter("mockllm_state_journal_dropped", "Journal entries lost because "
                           "the shared state's store was unreachable.", [],
                           {(): stats["journal_dropped"]})


class _Fixed:
    """A collector of families already built (the fleet's sums)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def merged(snapshots: list[bytes]) -> bytes:
    """The exposition of several processes' snapshots: each sample summed over the
    processes that have it (the mean for :data:`MEAN_GAUGES`), families and samples in the
    order they first appear."""
    table: dict[str, tuple[str, str, dict[tuple[str, tuple[tuple[str, str], ...]], list[Any]]]]
    table = {}
    for raw in snapshots:
        for name, doc, kind, samples in _snap_dec.decode(raw):
            values = table.setdefault(name, (doc, kind, {}))[2]
            for sample, labels, value in samples:
                acc = values.setdefault((sample, tuple(labels.items())), [0, 0])
                acc[0] += value
                acc[1] += 1
    families = []
    for name, (doc, kind, values) in table.items():
        family = Metric(name, doc, kind)
        for (sample, pairs), (total, n) in values.items():
            family.add_sample(sample, dict(pairs), total / n if name in MEAN_GAUGES else total)
        families.append(family)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families))
    return generate_latest(registry)


def _by_model(table: dict[tuple[str, str], int]) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    for (_, model), n in table.items():
        out[(model,)] = out.get((model,), 0) + n
    return out


def _merge(table: dict[tuple[str, str], Histogram]) -> dict[tuple[str, ...], Histogram]:
    return _merge_into({}, (((model,), hist) for (_, model), hist in table.items()))


def _merge_into(out: dict[Any, Histogram], pairs: Iterable[tuple[Any, Histogram]]
                ) -> dict[Any, Histogram]:
    """Sum histograms with the same key (same bounds) into ``out``."""
    for key, hist in pairs:
        merged = out.get(key)
        if merged is None:
            merged = out[key] = Histogram(hist.bounds)
        merged.counts = [a + b for a, b in zip(merged.counts, hist.counts, strict=True)]
        merged.sum += hist.sum
        merged.count += hist.count
    return out


def _counter(name: str, doc: str, labels: list[str],
             values: Mapping[Any, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _histogram(name: str, doc: str, labels: list[str],
               hists: Mapping[Any, Histogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for key, hist in sorted(hists.items()):
        family.add_metric(list(key), _buckets(hist), hist.sum)
    return family


def _buckets(hist: Histogram) -> list[tuple[str, float]]:
    out, total = [], 0
    for bound, n in zip((*hist.bounds, float("inf")), hist.counts, strict=True):
        total += n
        out.append(("+Inf" if bound == float("inf") else repr(float(bound)), float(total)))
    return out


def metrics_for(context: ServerContext) -> Metrics:
    """The context's Metrics, created (and its observer registered) on first use."""
    metrics: Metrics | None = context.extras.get(EXTRA_KEY)
    if metrics is None:
        metrics = context.extras[EXTRA_KEY] = Metrics(context)
        context.observers.append(metrics.observe)
        context.state.share(SHARE, metrics.snapshot)
    return metrics


class MetricsEndpoint(Endpoint):
    """``GET /metrics`` in the Prometheus text format (version 0.0.4)."""

    async def handle(self, request: Request) -> Response:
        metrics = metrics_for(self.context)
        body = b""
        # ?scope=process: this process's own series (a scraper that visits every process
        # and sums, as before the fleet's sums were here).
        if self.context.state.shared and request.query_params.get("scope") != "process":
            try:
                body = merged(await self.context.state.gather(SHARE))
            except StateError:
                pass  # logged and counted (mockllm_state_errors_total): this process's own
        if not body:
            body = metrics.exposition()
        # 0.0.4: what every Prometheus and vLLM-dashboard scraper reads (the names here need
        # nothing newer).
        return Response(body, headers={"content-type": CONTENT_TYPE_PLAIN_0_0_4})


@hookimpl(trylast=True)
def mockllm_startup(context: ServerContext) -> None:
    metrics_for(context)


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("mockllm.metrics", path="/metrics", methods=["GET"])(MetricsEndpoint)

