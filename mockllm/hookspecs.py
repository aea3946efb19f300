"""Every hook mockllm calls, typed and documented.

Hooks are called at start-up (and on a runtime switch or config reload), never per request.
Builtin implementations live in ``plugins_builtin/`` and are registered with ``trylast=True``,
so any installed plugin is called before them.

docs/hooks.md has one heading per hook below; tests/test_hooks.py keeps them in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from random import Random

    from starlette.middleware import Middleware

    from mockllm.context import ServerContext
    from mockllm.engine.tokens import Tokenizer
    from mockllm.engine.view import RequestView
    from mockllm.registry import Registry

PROJECT = "mockllm"

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def mockllm_register_endpoints(registry: Registry) -> None:
    """Contribute endpoint implementations.

    :param registry: the endpoint registry. Call ``registry.register(key)(cls)`` to implement a
        known key (its path and methods are inherited), or
        ``registry.register(key, path=..., methods=[...])(cls)`` to declare a new one.

    Every implementation is recorded with the plugin that contributed it; the winner per key is
    chosen by the precedence rules in docs/plugins.md, not by call order.
    Default: ``builtin.openai``, ``builtin.anthropic``, ``builtin.nim``, ``builtin.ollama``,
    ``builtin.admin``, ``builtin.health``.
    """


@hookspec
def mockllm_register_transports(registry: Registry) -> None:
    """Contribute transports (how a rendered answer is framed on the wire).

    :param registry: the transport registry; ``registry.register(name)(cls)`` where ``cls``
        subclasses :class:`mockllm.Transport`.

    Builtin names: ``json``, ``sse``, ``sse-events``, ``ndjson`` (``builtin.transports``).
    """


@hookspec
def mockllm_configure(config: Any) -> None:
    """Called with the validated :class:`mockllm.config.Config` after it is loaded and after
    every successful hot reload.

    :param config: the new config. Treat it as read-only.

    Not firstresult: every implementation is called. Default: none.
    """


@hookspec
def mockllm_startup(context: ServerContext) -> Any:
    """Called once from the ASGI lifespan before the first request is served.

    :param context: the server context (config, engine, registries, journal).
    :return: ``None`` or an awaitable, which is awaited. Raising stops start-up.

    Default: ``builtin.admin`` starts the config file watcher.
    """


@hookspec
def mockllm_shutdown(context: ServerContext) -> Any:
    """Called once from the ASGI lifespan when the server stops.

    :param context: the server context ``mockllm_startup`` got.
    :return: ``None`` or an awaitable, which is awaited.

    Plugins are shut down in the reverse order of ``mockllm_startup``, so a plugin started
    after another is stopped before it. An exception is logged and the next plugin is still
    shut down. Default: ``builtin.admin`` stops the config file watcher.
    """


@hookspec
def mockllm_asgi_middleware(context: ServerContext) -> list[Middleware] | None:
    """Return Starlette ``Middleware`` entries to wrap the application with.

    :param context: the server context.
    :return: a list of ``starlette.middleware.Middleware`` or ``None``.

    Lists from all plugins are concatenated in call order (the first list is outermost).
    Middleware runs on every request, so keep it cheap. Default: none.
    """


@hookspec(firstresult=True)
def mockllm_tokenizer(name: str) -> Tokenizer | None:
    """Return a tokenizer for the vocabulary ``name`` (for example ``cl100k_base``).

    :param name: the ``tokenizer`` of a model in the registry.
    :return: an object with ``encode(str) -> list[int]`` and ``decode(list[int]) -> str``, or
        ``None`` to let the next implementation try.

    Resolved by the key rules, not pluggy's call order: every implementation is asked, and
    among those that answer, tryfirst beats plugins, plugins beat builtins, and the first
    loaded plugin wins a tie (with a warning; ``--use tokenizer:NAME=PLUGIN`` settles it).
    Called once per name; the result is cached.
    Default: ``builtin.tokenizers`` (tiktoken with the shipped, sha256-checked ``o200k_base``
    and ``cl100k_base``; an explicit, logged fallback when another vocabulary cannot be
    loaded offline). ``encode`` must treat special tokens in user text as ordinary text.
    """


@hookspec
def mockllm_latency_models() -> dict[str, Callable[[Mapping[str, Any], float], Any]] | None:
    """Contribute latency models (distributions of TTFT and inter-token latency) by name.

    :return: ``{name: factory}`` or ``None``. A config block ``ttft: {model: NAME, ...}``
        calls ``factory(params, default_ms)`` once, at config load, where ``params`` is that
        mapping and ``default_ms`` the block's ``ttft_ms`` / ``itl_ms``. The factory returns
        an object with ``sample(rng: random.Random) -> float`` (seconds, never negative),
        ``mean: float`` and ``constant: bool`` (see ``mockllm.engine.latency.LatencyModel``),
        or raises ``mockllm.engine.latency.LatencyParamError`` for bad parameters.

    Not firstresult: answers are merged by the key rules (builtins lowest, then plugins in
    load order; the first loaded wins a clash with a warning; ``--use latency:NAME=PLUGIN``
    settles it), so a plugin can replace a builtin name. Default: ``builtin.latency``
    (``constant``, ``uniform``, ``normal``, ``lognormal``, ``empirical``).
    """


@hookspec
def mockllm_matchers() -> dict[str, Callable[[Any], Callable[[RequestView], Any]]] | None:
    """Contribute match conditions a rule can use by name: ``match: {acme.sentiment: neg}``.

    :return: ``{name: factory}`` or ``None``. Names contain a dot (``acme.sentiment``). At
        config load, ``factory(value)`` is called once per rule that uses the name, with the
        YAML value; a bad value raises :class:`mockllm.ConfigError` (or ``ValueError``),
        reported as ``FILE:LINE``. Per request, the returned ``matcher(view)`` gets a
        :class:`mockllm.RequestView` and returns falsy (no match), ``True``, or a mapping of
        template values (the rule matches and ``{name}`` placeholders can use them).

    Merged by the key rules (``--use matcher:NAME=PLUGIN``). Default: none.
    """


@hookspec
def mockllm_responders() -> dict[str, Callable[[Any], Callable[[RequestView, Random], Any]]] | None:
    """Contribute answers a rule can give by name: ``respond: {acme.lorem: {sentences: 2}}``.

    :return: ``{name: factory}`` or ``None``. Names contain a dot. At config load,
        ``factory(value)`` is called once per ``respond`` that uses the name (a bad value
        raises :class:`mockllm.ConfigError`, reported as ``FILE:LINE``). Per request, the
        returned ``responder(view, rng)`` gets a :class:`mockllm.RequestView` and a
        ``random.Random`` seeded for this request and choice, and returns a ``str`` (the
        text) or a :class:`mockllm.Reply` (text, tool calls, reasoning). The engine cuts it
        into tokens, applies ``max_tokens``/``stop``, counts usage, paces it, applies faults
        and renders it for every API.

    Merged by the key rules (``--use responder:NAME=PLUGIN``). Default: none.
    """


@hookspec
def mockllm_faults() -> dict[str, Callable[[Any], Callable[[bytes, int], bytes | None]]] | None:
    """Contribute fault kinds a rule (or ``x-mockllm-fault``) can use by name:
    ``respond: {fault: {kind: acme.duplicate, after: 2, params: {times: 3}}}``.

    :return: ``{name: factory}`` or ``None``. Names contain a dot. At config load,
        ``factory(params)`` is called once per fault that uses the name, with the block's
        ``params`` (``None`` when it has none, and for ``x-mockllm-fault: acme.duplicate``);
        a bad value raises :class:`mockllm.ConfigError` (or ``ValueError``), reported as
        ``FILE:LINE``. Per request, the returned ``action(data, index)`` gets the wire bytes
        of each frame from the fault's ``after`` on (``index`` counts frames from 0; a
        non-streamed answer is one frame, its whole body) and returns the bytes to send in
        its place (``b""`` drops the frame) or ``None`` to drop the connection there.
        Frames go out on the stream's pacing schedule, as with the builtin kinds.

    Merged by the key rules (``--use fault:NAME=PLUGIN``). Default: none (the builtin kinds
    ``disconnect``, ``malformed``, ``stall``, ``truncate`` and ``error`` are not plugins).
    """


@hookspec
def mockllm_validators() -> dict[str, Callable[[RequestView], str | None]] | None:
    """Contribute request checks, applied to every model request after decoding.

    :return: ``{name: validator}`` or ``None``. Names contain a dot. Per request,
        ``validator(view)`` gets a :class:`mockllm.RequestView` and returns ``None`` (the
        request is fine) or a message, which the client gets as its provider's 400
        (``invalid_request_error``). Every validator runs, in precedence order; the first
        message answers.

    Merged by the key rules (``--use validator:NAME=PLUGIN``). Default: none.
    """
