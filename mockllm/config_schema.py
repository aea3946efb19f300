"""The shape of a whole config file: models, defaults, rules, plugins, server.

The structs alone, apart from the YAML loader (``config.py``), so the engine can name and
locate in the config it compiles without importing the loader.
"""

from __future__ import annotations

import re

import msgspec

from mockllm.bytecache import (
    EMBEDDING_CACHE_BYTES,
    JOURNAL_BODY_BYTES,
    STORE_BYTES,
    TEXT_CACHE_BYTES,
)
from mockllm.engine.quotas import Quota
from mockllm.engine.schema import Defaults, Latency, ModelConfig, Rule

EMBEDDED = "<embedded default>"


class PluginsConfig(msgspec.Struct, forbid_unknown_fields=True):
    use: dict[str, str] = {}
    disable: list[str] = []
    load: list[str] = []


#: The default ``server.limits.yaml_depth``: far more than any config nests (about 10).
YAML_DEPTH = 64


class Limits(msgspec.Struct, forbid_unknown_fields=True):
    """Bounds on the work one request may ask for; past one, the provider's 400 or 413."""

    #: Tokens generated for one request, summed over its choices (``n``): text, reasoning
    #: and tool-call arguments. 400 past it.
    generated_tokens: int = 262_144
    #: Log-probability entries of one request: generated tokens x ``top_logprobs`` (at
    #: least 1 per token) when logprobs are asked for. 400 past it.
    logprob_entries: int = 200_000
    #: Prompt text one request may have tokenized, in characters (UTF-8 bytes for ASCII;
    #: text, tool definitions and inputs together). 413 past it.
    prompt_bytes: int = 8 * 1024 * 1024
    #: Nesting depth of a YAML document (runtime rules, config files), checked before
    #: parsing: ruamel takes seconds on a small, deeply nested text.
    yaml_depth: int = YAML_DEPTH
    #: Bytes of a runtime-rules body (``POST /_mockllm/rules``). 413 past it.
    yaml_bytes: int = 4 * 1024 * 1024
    #: The longest time a control header may ask for, in ms: ``x-mockllm-latency-ms``
    #: values (``ttft=1e308`` would hold a slot for ever) and fault ``seconds``. 400 past it.
    control_ms: float = 600_000.0


class Memory(msgspec.Struct, forbid_unknown_fields=True):
    """Byte budgets of what the server keeps across requests; each evicts the least recently
    used past its budget, so memory levels off whatever the traffic (defaults: about 164 MiB
    in all)."""

    #: Generated texts (per seed and length), configured answers cut into tokens and prompt
    #: token counts, together.
    text_cache_bytes: int = TEXT_CACHE_BYTES
    #: Embedding vectors, kept packed as float32.
    embedding_cache_bytes: int = EMBEDDING_CACHE_BYTES
    #: Each store of stored objects (the Responses API's ``store``), msgpack-encoded.
    #: Past it the least recently used response is gone: 404 as for a deleted one.
    store_bytes: int = STORE_BYTES
    #: Request bodies the journal keeps, together (each is cut at 4 KiB first); past it the
    #: oldest entries lose their ``body``.
    journal_body_bytes: int = JOURNAL_BODY_BYTES


class ServerConfig(msgspec.Struct, forbid_unknown_fields=True):
    #: Bodies past this size get 413 in the provider's envelope.
    max_body_bytes: int = 32 * 1024 * 1024
    #: API keys accepted (``Authorization: Bearer`` or ``x-api-key``); empty means no auth.
    api_keys: list[str] = []
    #: Refuse unknown request fields with 400 "Unrecognized request argument".
    strict: bool = False
    #: Honour the ``x-mockllm-*`` per-request control headers.
    control_headers: bool = True
    #: Bearer token every admin API client must send; empty: loopback clients only.
    admin_token: str = ""
    #: Host names (``Host``, ``Origin``) the admin API accepts besides localhost and IP
    #: addresses: a DNS-rebinding page arrives under a name of its own.
    admin_hosts: list[str] = []
    #: Seconds after start-up during which /health says "starting" and inference gets 503.
    startup_delay_s: float = 0.0
    #: Requests kept by the journal (``GET /_mockllm/requests``), oldest dropped first.
    journal_size: int = 1000
    #: Watch the ``--config`` file and hot-reload it when it changes.
    watch: bool = True
    #: Seconds between two looks at the config file.
    watch_interval: float = 0.25
    #: Seconds in-flight requests get to finish after SIGTERM; then they are cancelled and
    #: the server exits 0. A 60 s TTFT no longer holds up a shutdown for 60 s.
    shutdown_timeout_s: float = 10.0
    #: Where counters, runtime changes, the journal and stored objects live: ``memory``
    #: (this process; ``--workers N`` share an embedded store) or ``redis://HOST:PORT/DB``.
    state: str = "memory"
    #: The HTTP server under ``mockllm serve``: ``mockllm`` (its own HTTP/1.1 layer,
    #: mockllm/http) or ``uvicorn``. ``--http`` and ``MOCKLLM_HTTP`` win over this.
    http: str = "mockllm"
    #: Bounds on the work one request may ask for.
    limits: Limits = msgspec.field(default_factory=Limits)
    #: Byte budgets of the caches and stores.
    memory: Memory = msgspec.field(default_factory=Memory)


class Config(msgspec.Struct, forbid_unknown_fields=True):
    models: list[ModelConfig] = []
    defaults: Defaults = msgspec.field(default_factory=Defaults)
    rules: list[Rule] = []
    plugins: PluginsConfig = msgspec.field(default_factory=PluginsConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    #: Named latency blocks that ``latency: {profile: NAME}`` refers to.
    latency_profiles: dict[str, Latency] = {}
    #: Requests and tokens per minute, per model, API key or header (engine/quotas.py).
    quotas: list[Quota] = []
    #: Where it came from (set by the loader, not by users).
    source: str = EMBEDDED
    #: Key path -> line in ``source`` (set by the loader), so problems found after loading
    #: (plugin matchers, latency models) are still reported as FILE:LINE.
    lines: dict[str, int] = {}


def locate(config: Config, path: str) -> str:
    """``FILE:LINE`` of a key path (or of its nearest ancestor the loader saw)."""
    probe = path
    while probe:
        line = config.lines.get(probe)
        if line is not None:
            return f"{config.source}:{line}"
        probe = _PARENT.sub("", probe)
    return f"{config.source}:1"


_PARENT = re.compile(r"(\[\d+\]|\.[^.\[]*)$")
