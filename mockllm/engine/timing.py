"""Timing: the TTFT and ITL schedule of one answer, and the state that outlives a reload.

Precedence, highest first: the ``x-mockllm-latency-ms`` request header (``ttft=100,itl=10``,
when ``server.control_headers`` is on), the matched rule's ``latency``, the model's, the
defaults'. Each of those blocks may name a ``profile`` from ``latency_profiles``; fields the
block sets to non-default values override the profile's. The winning block is used whole.

Every latency block of a config is compiled once (:class:`Timing`, built with the engine);
:meth:`Timing.pacing` does only a dict lookup, and draws samples when a model is random.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING

import msgspec

from mockllm.config_error import ConfigError, Problem
from mockllm.config_schema import locate
from mockllm.engine.latency import Constant, LatencyModel, LatencyModels, LatencyParamError
from mockllm.engine.load import LoadModel
from mockllm.engine.request import NeutralRequest
from mockllm.engine.schema import Latency, LoadConfig, ModelConfig
from mockllm.errors import ApiError
from mockllm.faults import Fault
from mockllm.histogram import LATENCY_BUCKETS, Histogram
from mockllm.pacing import Pacing, jittered
from mockllm.schedulers import Clock, Scheduler, default_scheduler

if TYPE_CHECKING:
    from mockllm.config_schema import Config

LATENCY_HEADER = "x-mockllm-latency-ms"
PROFILE_HEADER = "x-mockllm-latency-profile"

_DEFAULT = Latency()
_UNUSED_RNG = random.Random(0)  # a constant model never draws from it


class TimingRuntime:
    """Per-server timing state kept across config reloads: the latency-model registry, the
    load models (a model keeps its queue while its ``load`` block is unchanged), histograms,
    the readiness time and the active stream count."""

    def __init__(
        self,
        models: LatencyModels | None = None,
        clock: Clock = time.monotonic,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.models = models or LatencyModels()
        self.clock = clock
        self.scheduler = scheduler or default_scheduler()
        self.loads: dict[str, LoadModel] = {}
        #: Send time minus due time of every paced token frame, all models together.
        self.pacing_errors = Histogram()
        #: Measured gaps between paced token frames, per model id.
        self.itl: dict[str, Histogram] = {}
        #: Time requests waited for a load-model slot, per model id.
        self.queue_time: dict[str, Histogram] = {}
        #: Inference is refused with 503 until ``clock()`` reaches this (start-up delay).
        self.ready_at = 0.0
        self.active_streams = 0
        self._counter = itertools.count()

    def load_for(self, model_id: str, config: LoadConfig | None) -> LoadModel:
        current = self.loads.get(model_id)
        if current is None or current.config != config:
            current = self.loads[model_id] = LoadModel(config)
        return current

    def itl_histogram(self, model_id: str) -> Histogram:
        hist = self.itl.get(model_id)
        if hist is None:
            hist = self.itl[model_id] = Histogram(LATENCY_BUCKETS)
        return hist

    def queue_histogram(self, model_id: str) -> Histogram:
        hist = self.queue_time.get(model_id)
        if hist is None:
            hist = self.queue_time[model_id] = Histogram(LATENCY_BUCKETS)
        return hist

    def next_seed(self) -> int:
        return next(self._counter)

    def compile(self, config: Config) -> Timing:
        return Timing(config, self)


@dataclass(frozen=True, slots=True)
class CompiledLatency:
    """One latency block, ready to sample."""

    ttft: LatencyModel
    itl: LatencyModel
    prefill: float  # seconds per prompt token
    cached_prefix: str
    cache_discount: float
    #: No time at all (worked out once here: it is asked on every request).
    zero: bool = dc_field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zero", (
            self.ttft.constant and self.ttft.mean <= 0 and self.itl.constant
            and self.itl.mean <= 0 and self.prefill <= 0))


class Timing:
    """Every latency block of one config, compiled; raises ConfigError-style messages."""

    def __init__(self, config: Config, runtime: TimingRuntime) -> None:
        self.runtime = runtime
        self.control_headers = config.server.control_headers
        self.control_ms = config.server.limits.control_ms
        self.profiles: dict[str, CompiledLatency] = {}
        self._by_id: dict[int, CompiledLatency] = {}
        self._keep: list[Latency] = []  # the ids above stay valid while we hold the structs
        #: (key path, message) of every bad block; raised together as one ConfigError.
        self.problems: list[tuple[str, str]] = []
        problems = self.problems
        raw_profiles = self._profiles = config.latency_profiles
        for name, block in raw_profiles.items():
            if block.profile is not None:
                problems.append((f"latency_profiles.{name}.profile",
                                 "a profile cannot refer to another profile"))
                continue
            self._add(block, f"latency_profiles.{name}", raw_profiles, problems)
            if id(block) in self._by_id:
                self.profiles[name] = self._by_id[id(block)]
        self.defaults = self._add(config.defaults.latency, "defaults.latency", raw_profiles,
                                  problems)
        self.by_model: dict[str, CompiledLatency] = {}
        self.loads: dict[str, LoadModel] = {}
        for i, model in enumerate(config.models):
            if model.latency is not None:
                compiled = self._add(model.latency, f"models[{i}].latency", raw_profiles,
                                     problems)
                if compiled is not None:
                    self.by_model[model.id] = compiled
            if model.load is not None:
                problems.extend(_load_problems(model.load, f"models[{i}].load"))
            self.loads[model.id] = runtime.load_for(model.id, model.load)
        for i, rule in enumerate(config.rules):
            if rule.latency is not None:
                self._add(rule.latency, f"rules[{i}].latency", raw_profiles, problems)
        if problems:
            raise ConfigError([Problem(locate(config, p), p, m) for p, m in problems])
        self._defaults_struct = config.defaults.latency
        #: Models answered at once unless a rule, header or fault says otherwise: no latency
        #: from the model or the defaults and no bounded load model. One set lookup then
        #: settles the pacing of the common request.
        self.unpaced = frozenset(m.id for m in config.models if self._unpaced(m.id))

    def _unpaced(self, model_id: str) -> bool:
        block = self.by_model.get(model_id, self.defaults)
        return block is not None and block.zero and not self.loads[model_id].bounded

    def _add(self, block: Latency, where: str, profiles: dict[str, Latency],
             problems: list[tuple[str, str]]) -> CompiledLatency | None:
        try:
            resolved = _resolve_profile(block, profiles)
        except LatencyParamError as exc:
            problems.append((f"{where}.profile", str(exc)))
            return None
        found = self.block_problems(resolved)
        if found:
            problems.extend((f"{where}.{field}", message) for field, message in found)
            return None
        compiled = self.compile_block(resolved)
        self._by_id[id(block)] = compiled
        self._keep.append(block)
        return compiled

    def block_problems(self, block: Latency) -> list[tuple[str, str]]:
        """(field, message) for everything wrong in one block (all of it, not the first)."""
        found: list[tuple[str, str]] = []
        for field, spec, default in (("ttft", block.ttft, block.ttft_ms),
                                     ("itl", block.itl, block.itl_ms)):
            try:
                self.runtime.models.build(spec, default)
            except LatencyParamError as exc:
                found.append((field, str(exc)))
        for name in ("ttft_ms", "itl_ms", "prefill_ms_per_token"):
            if getattr(block, name) < 0:
                found.append((name, "must be 0 or more"))
        if not 0 <= block.cache_discount <= 1:
            found.append(("cache_discount", "must be between 0 and 1"))
        return found

    def compile_block(self, block: Latency) -> CompiledLatency:
        """Compile one block (raises LatencyParamError naming the field on a bad one)."""
        found = self.block_problems(block)
        if found:
            raise LatencyParamError(f"{found[0][0]}: {found[0][1]}")
        models = self.runtime.models
        return CompiledLatency(models.build(block.ttft, block.ttft_ms),
                               models.build(block.itl, block.itl_ms),
                               block.prefill_ms_per_token / 1000, block.cached_prefix,
                               block.cache_discount)

    def resolve(self, req: NeutralRequest, model: ModelConfig,
                latency: Latency) -> CompiledLatency:
        """The block that applies: rule (``latency`` unless it is the defaults') > model >
        defaults, before any header."""
        if latency is self._defaults_struct or latency is _DEFAULT:
            found = self.by_model.get(model.id)
            if found is not None:
                return found
        compiled = self._by_id.get(id(latency))
        if compiled is None:  # a runtime rule's block: compile it once, on first use
            compiled = self.compile_block(_resolve_profile(latency, self._profiles))
            self._by_id[id(latency)] = compiled
            self._keep.append(latency)
        return compiled

    def pacing(
        self,
        start: float,
        req: NeutralRequest,
        model: ModelConfig,
        latency: Latency,
        prompt_tokens: int,
        fault: Fault | None,
    ) -> Pacing | None:
        runtime = self.runtime
        if (fault is None and model.id in self.unpaced and start >= runtime.ready_at
                and (latency is self._defaults_struct or latency is _DEFAULT)
                and not (self.control_headers and (LATENCY_HEADER in req.headers
                                                   or PROFILE_HEADER in req.headers))):
            return None
        if start < runtime.ready_at:
            raise ApiError(503, "The server is starting up; retry in a moment.",
                           headers={"retry-after": str(max(int(runtime.ready_at - start), 1))})
        block = self.resolve(req, model, latency)
        if self.control_headers and req.headers:
            block = self._from_headers(req.headers, block)
        load = self.loads.get(model.id)
        if block.zero and (load is None or not load.bounded):
            if fault is None:
                return None  # nothing to wait for or break: the stream goes out as fast as it can
            return Pacing(start, 0.0, 0.0, fault, clock=runtime.clock,
                          scheduler=runtime.scheduler, errors=runtime.pacing_errors)
        if load is None:
            load = runtime.load_for(model.id, None)
        ticket = load.admit(prompt_tokens)  # raises 429/503/529 when the queue is full
        rng = None
        if not (block.ttft.constant and block.itl.constant):
            seed = req.seed if req.seed is not None else runtime.next_seed()
            rng = random.Random(seed)
        ttft = block.ttft.sample(rng) if rng is not None else block.ttft.mean
        if block.prefill > 0:
            ttft += block.prefill * _billed_prompt(req, prompt_tokens, block)
        itl: float = block.itl.mean
        sample = None
        if rng is not None and not block.itl.constant:
            sample = jittered(block.itl, rng, ticket)
        elif load.varies and itl > 0:  # constant ITL, but slower as more sequences run
            sample = jittered(block.itl, _UNUSED_RNG, ticket)
        return Pacing(start, ttft, itl, fault, itl_sample=sample, load=ticket,
                      clock=runtime.clock, scheduler=runtime.scheduler,
                      errors=runtime.pacing_errors, itl_sink=runtime.itl_histogram(model.id),
                      queue_sink=runtime.queue_histogram(model.id) if load.bounded else None)

    def _from_headers(self, headers: dict[str, str], block: CompiledLatency) -> CompiledLatency:
        name = headers.get(PROFILE_HEADER)
        if name is not None:
            found = self.profiles.get(name)
            if found is None:
                raise ApiError(400, f"{PROFILE_HEADER}: unknown latency profile {name!r}",
                               param=PROFILE_HEADER)
            block = found
        value = headers.get(LATENCY_HEADER)
        if value is not None:
            block = _apply_header(value, block, self.control_ms)
        return block


def _apply_header(value: str, block: CompiledLatency, max_ms: float) -> CompiledLatency:
    """``ttft=100,itl=10`` (milliseconds; ``prefill`` per prompt token too) over ``block``;
    each value at most ``max_ms`` (``server.limits.control_ms``)."""
    ttft, itl, prefill = block.ttft, block.itl, block.prefill
    for part in value.split(","):
        key, sep, num = part.partition("=")
        key = key.strip().lower()
        try:
            ms = float(num)
            if not sep or ms < 0 or ms != ms or ms == float("inf"):
                raise ValueError
        except ValueError:
            raise ApiError(400, f"{LATENCY_HEADER}: expected comma-separated key=milliseconds "
                                f"(ttft=100,itl=10), got {value!r}", param=LATENCY_HEADER
                           ) from None
        if ms > max_ms:
            raise ApiError(400, f"{LATENCY_HEADER}: {key}={num.strip()} is more than the "
                                f"{max_ms:g} ms a control header may ask for "
                                "(server.limits.control_ms)", param=LATENCY_HEADER)
        if key == "ttft":
            ttft = Constant(ms)
        elif key == "itl":
            itl = Constant(ms)
        elif key == "prefill":
            prefill = ms / 1000
        else:
            raise ApiError(400, f"{LATENCY_HEADER}: unknown key {key!r} (ttft, itl, prefill)",
                           param=LATENCY_HEADER)
    return CompiledLatency(ttft, itl, prefill, block.cached_prefix, block.cache_discount)


def _billed_prompt(req: NeutralRequest, prompt_tokens: int, block: CompiledLatency) -> float:
    """Prompt tokens as prefill pays for them: cached prefix tokens cost less.

    The cached share is estimated by characters (no second tokenizer pass): the system
    prompt, or every message but the last.
    """
    if block.cached_prefix == "none" or block.cache_discount <= 0 or not req.messages:
        return float(prompt_tokens)
    lengths = [len(m.text) for m in req.messages]
    total = sum(lengths) + len(lengths) - 1
    if total <= 0:
        return float(prompt_tokens)
    if block.cached_prefix == "system":
        cached_chars = sum(n for m, n in zip(req.messages, lengths, strict=True)
                           if m.role in ("system", "developer"))
    else:
        cached_chars = total - lengths[-1]
    cached = prompt_tokens * min(cached_chars / total, 1.0)
    return prompt_tokens - cached * block.cache_discount


def _resolve_profile(block: Latency, profiles: dict[str, Latency]) -> Latency:
    if block.profile is None:
        return block
    base = profiles.get(block.profile)
    if base is None:
        known = ", ".join(sorted(profiles)) or "none defined"
        raise LatencyParamError(f"unknown latency profile {block.profile!r} "
                                f"(latency_profiles: {known})")
    changes = {f: getattr(block, f) for f in block.__struct_fields__
               if f != "profile" and getattr(block, f) != getattr(_DEFAULT, f)}
    return msgspec.structs.replace(base, **changes)


def _load_problems(load: LoadConfig, where: str) -> list[tuple[str, str]]:
    problems = []
    if load.max_concurrent < 1:
        problems.append((f"{where}.max_concurrent", "must be 1 or more"))
    if load.queue_size < 0:
        problems.append((f"{where}.queue_size", "must be 0 or more"))
    if load.time_factor_under_load < 1:
        problems.append((f"{where}.time_factor_under_load", "must be 1 or more"))
    if load.kv_cache_tokens < 0:
        problems.append((f"{where}.kv_cache_tokens", "must be 0 or more"))
    return problems


