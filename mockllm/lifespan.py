"""Start-up and shut-down: the ``mockllm_startup`` / ``mockllm_shutdown`` hooks in order."""

from __future__ import annotations

import gc
import inspect
import logging
from typing import Any

from mockllm.context import ServerContext

log = logging.getLogger("mockllm.app")
#: The cyclic collector's young-generation threshold while serving (CPython's default: 700).
GEN0_THRESHOLD = 7000
#: Young collections between two middle-generation ones while serving (CPython's: 10).
GEN1_THRESHOLD = 100
_saved_threshold: list[int] = []  # what start() raised, restored by stop()
_serving = [0]  # servers started in this process and not stopped (tests nest them)


async def start(context: ServerContext) -> list[str]:
    """Run every ``mockllm_startup`` in pluggy's call order; the plugins, in that order."""
    started: list[str] = []
    # Shared state first: the runtime rules and switches published before this process
    # started are applied before it answers anything.
    await context.state.start(context.apply_change)
    # get_hookimpls() is in reverse call order; calling them one by one records who started.
    for impl in reversed(context.hook.mockllm_startup.get_hookimpls()):
        result = impl.function(**_args(impl, context))
        if inspect.isawaitable(result):
            await result
        started.append(impl.plugin_name)
    # What is loaded by now (config, plugins, tokenizer tables) lives as long as the server.
    # Frozen, the cyclic collector no longer walks it in every full collection: under a
    # burst of 1,000 paced streams the collections then cost ~1/3 of the CPU they did
    # (docs/performance.md). Objects stay freed by reference counting as before.
    gc.freeze()
    # A paced stream keeps ~80 tracked objects (protocol, parser, request, plan, frames,
    # futures) alive until its end, so at the default threshold (700) a burst of 1,000
    # streams runs over a hundred young collections that find nothing to free but still
    # walk, then promote, the live streams (and older collections follow). Ten times the
    # threshold runs a tenth of them; reference counting still frees everything that is not
    # a cycle at once.
    # The middle generation is where the live streams' objects sit once a young
    # collection has seen them: each of its collections walks all of them (~15 ms under
    # that burst, seven times in five rounds: a fifth of the CPU to the first tokens).
    # Ten times fewer of them is safe because a request leaves no cycles behind (the
    # connection breaks its own in connection_lost; tests/http/test_no_cycles.py).
    before = gc.get_threshold()
    _serving[0] += 1
    if _serving[0] == 1 and (before[0] < GEN0_THRESHOLD or before[1] < GEN1_THRESHOLD):
        _saved_threshold[:] = before
        gc.set_threshold(max(before[0], GEN0_THRESHOLD), max(before[1], GEN1_THRESHOLD),
                         *before[2:])
    return started


async def stop(context: ServerContext, started: list[str]) -> None:
    """``mockllm_shutdown`` in the reverse order of start-up; one failure stops no other."""
    impls = list(reversed(context.hook.mockllm_shutdown.get_hookimpls()))
    order = {name: i for i, name in enumerate(started)}
    # Plugins that started are stopped last-started first; the rest (no startup hook) first.
    impls.sort(key=lambda impl: -order.get(impl.plugin_name, len(order)))
    for impl in impls:
        try:
            result = impl.function(**_args(impl, context))
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("mockllm_shutdown of plugin %s failed", impl.plugin_name)
    for stop in list(context.extras.get("on_shutdown", [])):
        # Older plugins put coroutine functions (or coroutines) here; both still work.
        try:
            result = stop() if callable(stop) else stop
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_shutdown callback %r failed", stop)
    await context.state.stop()
    gc.unfreeze()  # an in-process server (tests) leaves nothing behind it
    _serving[0] = max(_serving[0] - 1, 0)
    if _saved_threshold and not _serving[0]:  # the last server of this process stopped
        gc.set_threshold(*_saved_threshold)
        _saved_threshold.clear()


def _args(impl: Any, context: ServerContext) -> dict[str, Any]:
    return {"context": context} if "context" in impl.argnames else {}


