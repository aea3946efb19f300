"""The ASGI ``lifespan`` protocol: start-up before the first connection, shut-down after
the last answer (mockllm's startup and shutdown hooks, the shared state)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("mockllm.http")


class Lifespan:
    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.startup_done = asyncio.Event()
        self.shutdown_done = asyncio.Event()
        self.failed: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def startup(self) -> bool:
        """Run the app's start-up; False if it failed (the reason was logged)."""
        self.task = asyncio.get_running_loop().create_task(self._main())
        await self.inbox.put({"type": "lifespan.startup"})
        await self.startup_done.wait()
        return self.failed is None

    async def shutdown(self) -> None:
        if self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.shutdown_done.wait()

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        try:
            await self.app(scope, self.inbox.get, self._send)
        except BaseException as exc:  # noqa: BLE001 - logged, and start-up fails
            if not self.startup_done.is_set():
                self.failed = f"{type(exc).__name__}: {exc}"
                log.error("Application start-up failed", exc_info=exc)
            elif self.failed is None:  # (a failed start-up was logged from its message)
                log.error("Application shut-down failed", exc_info=exc)
        finally:
            self.startup_done.set()
            self.shutdown_done.set()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self.startup_done.set()
        elif kind == "lifespan.startup.failed":
            self.failed = message.get("message", "") or "start-up failed"
            log.error("Application start-up failed: %s", self.failed)
            self.startup_done.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            if kind.endswith("failed"):
                log.error("Application shut-down failed: %s", message.get("message", ""))
            self.shutdown_done.set()
