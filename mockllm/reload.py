"""Hot reload: watch the ``--config`` file and swap in each good version.

The watcher polls the file's mtime and size every ``server.watch_interval`` seconds and
reads it only when they change and then stay unchanged for a moment (so a write in progress
is not read half done); a content hash keeps a touch (or a rewrite with the same bytes) from
reloading. An empty file counts as bad: an editor that truncates before writing must not
swap in an empty config. The new file is parsed in a worker thread, then swapped in on the
event loop by :meth:`ServerContext.apply_config`, which replaces config and engine together,
so every request sees one consistent pair and none fails during a reload. A bad file keeps
the last good config: its ``file:line`` error is logged once and shown by
``GET /_mockllm/config`` until a good version arrives.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from typing import Any, Protocol

from mockllm.config import YAML_DEPTH, Config, ConfigError, parse


class ServerContext(Protocol):
    """What reloading needs of :class:`mockllm.context.ServerContext` (which is one)."""

    config: Config
    config_path: str | None
    config_error: str | None
    extras: dict[str, Any]

    def apply_config(self, config: Config) -> None: ...

log = logging.getLogger("mockllm.reload")

#: Seconds a changed file must stay unchanged before it is read.
_SETTLE = 0.02


def load(path: str, max_depth: int = YAML_DEPTH) -> tuple[Config | None, str | None, bytes]:
    """Parse ``path``: (config, None, digest) or (None, error, digest). Slow for a big
    file (ruamel is pure Python): call it in a worker thread, never on the event loop."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror}", b""
    digest = hashlib.sha256(data).digest()
    if not data.strip():
        # Most likely an editor truncated the file and has not written it yet. An empty
        # config is valid (no models), and applying it would fail every request.
        return None, f"{path}:1: the file is empty", digest
    try:
        return parse(data.decode("utf-8"), path, max_depth), None, digest
    except UnicodeDecodeError as exc:
        return None, f"{path}:1: not UTF-8 text: {exc}", digest
    except ConfigError as exc:
        return None, str(exc), digest


def apply(context: ServerContext, config: Config | None, error: str | None) -> bool:
    """Swap ``config`` in, or record ``error`` and keep the running config."""
    if config is not None:
        try:
            context.apply_config(config)
        except ConfigError as exc:  # problems only an engine build finds (latency blocks)
            error = str(exc)
        else:
            log.info("reloaded %s", config.source)
            return True
    context.config_error = error
    log.error("config reload failed, keeping the last good config:\n%s", error)
    return False


async def reload_now(context: ServerContext) -> tuple[bool, str | None]:
    """Reload the ``--config`` file once (``POST /_mockllm/reload``), parsed off the loop."""
    assert context.config_path is not None
    config, error, _ = await asyncio.to_thread(load, context.config_path,
                                               context.config.server.limits.yaml_depth)
    ok = apply(context, config, error)
    return ok, context.config_error if not ok else None


class Watcher:
    """Polls one file; :meth:`run` is the task body, :meth:`poll` one look."""

    def __init__(self, context: ServerContext, path: str) -> None:
        self.context = context
        self.path = path
        self._stat = self._look()
        try:
            with open(path, "rb") as f:
                self._digest = hashlib.sha256(f.read()).digest()
        except OSError:
            self._digest = b""

    def _look(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    async def poll(self) -> bool | None:
        """Reload if the file changed: True (applied), False (bad file), None (no change)."""
        stat = self._look()
        if stat is None or stat == self._stat:
            return None
        # Let a write in progress finish: read only once the file has stopped changing.
        await asyncio.sleep(_SETTLE)
        if self._look() != stat:
            return None
        self._stat = stat
        config, error, digest = await asyncio.to_thread(
            load, self.path, self.context.config.server.limits.yaml_depth)
        if digest == self._digest:
            return None
        self._digest = digest
        return apply(self.context, config, error)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.context.config.server.watch_interval)
            try:
                await self.poll()
            except Exception:  # the watcher must outlive any surprise
                log.exception("config watcher: unexpected error")


def start(context: ServerContext) -> asyncio.Task[None] | None:
    """Start watching ``context.config_path`` (from the running event loop)."""
    path = context.config_path
    if path is None or not context.config.server.watch:
        return None
    task = asyncio.get_running_loop().create_task(Watcher(context, path).run(),
                                                  name="mockllm-config-watcher")
    context.extras[_TASK] = task
    return task


async def stop(context: ServerContext) -> None:
    """Stop the watcher :func:`start` started, if any."""
    task = context.extras.pop(_TASK, None)
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


_TASK = "mockllm.reload.watcher"
