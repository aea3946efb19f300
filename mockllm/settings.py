"""Where each ``serve`` option comes from: the command line beats the environment, which
beats the config file, which beats the default.

A container is configured through its environment, so every ``serve`` option has a
``MOCKLLM_*`` variable. The lists (``--use``, ``--disable-plugin``, ``-p``) add up across the
layers instead; for ``--use`` a later layer wins per key (``mockllm.context``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
#: The HTTP servers ``mockllm serve`` can run on (``--http``, ``server.http``).
HTTP_SERVERS = ("mockllm", "uvicorn")


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range (0-65535)")
    return value


def workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of workers: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"workers must be at least 1, got {value}")
    return value


def log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(LOG_LEVELS)})")
    return text.lower()


def http_server(text: str) -> str:
    if text.lower() not in HTTP_SERVERS:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(HTTP_SERVERS)})")
    return text.lower()


@dataclass(frozen=True)
class Setting:
    dest: str
    env: str
    default: Any
    parse: Callable[[str], Any] = str
    #: How the default reads in --help and docs/cli.md, when it is not ``default`` itself.
    shown: str | None = None


#: Every single-valued ``serve`` option, its variable and its default.
SERVE = (
    Setting("config", "MOCKLLM_CONFIG", None),
    Setting("host", "MOCKLLM_HOST", "127.0.0.1"),
    Setting("port", "MOCKLLM_PORT", 8000, port),
    Setting("workers", "MOCKLLM_WORKERS", 1, workers),
    Setting("log_level", "MOCKLLM_LOG_LEVEL", "warning", log_level),
    # No default here: unset on the command line and in the environment, server.http decides.
    Setting("http", "MOCKLLM_HTTP", None, http_server, shown="server.http of the config"),
)
#: The repeatable options' variables (comma-separated), added to the command line's.
LISTS = {"use": "MOCKLLM_USE", "disable_plugin": "MOCKLLM_DISABLE_PLUGINS",
         "modules": "MOCKLLM_PLUGINS"}


def apply_environment(args: argparse.Namespace) -> dict[str, str]:
    """Fill each option the command line left unset from its variable, else its default.
    Returns ``{option: variable}`` for the ones the environment gave. A bad value raises
    ``ValueError`` naming the variable."""
    origins: dict[str, str] = {}
    for s in SERVE:
        if not hasattr(args, s.dest) or getattr(args, s.dest) is not None:
            continue
        raw = os.environ.get(s.env, "").strip()
        if not raw:
            setattr(args, s.dest, s.default)
            continue
        try:
            setattr(args, s.dest, s.parse(raw))
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{s.env}: {exc}") from None
        origins[s.dest.replace("_", "-")] = s.env
    if getattr(args, "modules", None) is not None:
        extra = [m.strip() for m in os.environ.get(LISTS["modules"], "").split(",")]
        args.modules = [*args.modules, *(m for m in extra if m)]
    return origins


def help_for(dest: str, what: str) -> str:
    """``what``, then the variable and the default, for ``--help``."""
    s = next(s for s in SERVE if s.dest == dest)
    default = s.shown or ("the embedded config" if s.default is None else s.default)
    return f"{what} (env {s.env}; default: {default})"
