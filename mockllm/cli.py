"""The command line: serve, plugins, routes, validate. No business logic lives here."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from mockllm import __version__
from mockllm.assembly import StartupOptions, create_context, parse_use
from mockllm.config import ConfigError
from mockllm.context import ServerContext
from mockllm.registry import PluginError
from mockllm.settings import (
    HTTP_SERVERS,
    LOG_LEVELS,
    apply_environment,
    help_for,
    http_server,
    log_level,
    port,
    workers,
)
from mockllm.state import StateError

#: Start-up options travel to worker processes (``--workers N``) through this variable.
OPTIONS_ENV = "MOCKLLM_SERVE_OPTIONS"


def _plugin_flags(p: argparse.ArgumentParser, config: bool = True) -> None:
    if config:
        p.add_argument("--config", metavar="FILE", help=help_for("config", "YAML config"))
    p.add_argument("--use", action="append", default=[], metavar="KEY=PLUGIN",
                   help="force PLUGIN (or 'builtin') for KEY; repeatable (env MOCKLLM_USE, "
                        "comma-separated; the command line wins per key)")
    p.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                   help="block a plugin by name; repeatable (env MOCKLLM_DISABLE_PLUGINS, "
                        "comma-separated, adds to these)")
    p.add_argument("-p", dest="modules", action="append", default=[], metavar="MODULE",
                   help="load a plugin module by import name; repeatable (env "
                        "MOCKLLM_PLUGINS, comma-separated, adds to these)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mockllm", description="A mock LLM API server.")
    ap.add_argument("--version", action="version", version=f"mockllm {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    _plugin_flags(serve)
    serve.add_argument("--host", help=help_for("host", "address to listen on"))
    serve.add_argument("--port", type=port, help=help_for("port", "port to listen on"))
    serve.add_argument("--workers", type=workers,
                       help=help_for("workers", "worker processes"))
    serve.add_argument("--log-level", type=log_level, metavar="{" + ",".join(LOG_LEVELS) + "}",
                       help=help_for("log_level", "log level"))
    serve.add_argument("--http", type=http_server, metavar="{" + ",".join(HTTP_SERVERS) + "}",
                       help=help_for("http", "the HTTP server: mockllm's own HTTP/1.1 layer "
                                             "(the default), or uvicorn"))
    plugins = sub.add_parser("plugins", help="what is loaded, and who wins each key and why")
    _plugin_flags(plugins)
    plugins.add_argument("--json", action="store_true")
    plugins.add_argument("--explain", metavar="KEY")
    routes = sub.add_parser("routes", help="method, path, key and active implementation")
    _plugin_flags(routes)
    routes.add_argument("--json", action="store_true")
    record = sub.add_parser(
        "record", help="proxy to a real OpenAI/Anthropic-compatible server and write what "
                       "it answers as rules (replay: mockllm serve --config FILE)")
    record.add_argument("--upstream", required=True, metavar="URL",
                        help="the real server's root, e.g. https://api.openai.com")
    record.add_argument("--out", default="rules.yaml", metavar="FILE",
                        help="the rules file, rewritten after every request (default: "
                             "rules.yaml)")
    record.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1)")
    record.add_argument("--port", type=port, default=8000,
                        help="port to listen on (default: 8000)")
    validate = sub.add_parser("validate", help="check a config file as serve would (same "
                                               "plugins, same checks)")
    _plugin_flags(validate, config=False)
    validate.add_argument("file")
    return ap


def _options(args: argparse.Namespace) -> StartupOptions:
    return StartupOptions(
        config_path=args.file if args.command == "validate" else args.config,
        use=parse_use(args.use, "--use"),
        disable=list(args.disable_plugin),
        modules=list(args.modules),
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="mockllm: %(levelname)s: %(message)s")
    try:
        return _run(parser().parse_args(argv))
    except (PluginError, ConfigError, StateError, ValueError) as exc:
        print(f"mockllm: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader left (``mockllm routes | head -1``): not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "record":
        return _record(args)
    origins = apply_environment(args)
    options = _options(args)
    if args.command == "validate":
        return _validate(args.file, options)
    if args.command == "serve":
        return _serve(args, options, origins)
    ctx = create_context(options)
    if args.command == "plugins":
        return _plugins(ctx, args)
    return _routes(ctx, args)


def _validate(path: str, options: StartupOptions) -> int:
    """Everything ``serve`` checks before it listens, with the same plugins: the file, the
    plugins it loads or blocks, overrides, latency models, plugin matchers and responders."""
    try:
        ctx = create_context(options)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except PluginError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    config = ctx.config
    print(f"{path}: ok ({len(config.models)} models, {len(config.rules)} rules)")
    return 0


def _plugins(ctx: ServerContext, args: argparse.Namespace) -> int:
    from mockllm.describe import plugins_json, plugins_text

    ctx.warm()  # so the tokenizer each model's vocabulary resolved to is shown too
    if args.json:
        print(json.dumps(plugins_json(ctx), indent=2))
        return 0
    try:
        print(plugins_text(ctx, args.explain))
    except KeyError:
        import difflib

        keys = [*ctx.endpoints.keys(), *ctx.transports.keys()]
        close = difflib.get_close_matches(args.explain, keys, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"mockllm: error: no endpoint or transport key {args.explain!r}{hint}",
              file=sys.stderr)
        return 2
    return 0


def _routes(ctx: ServerContext, args: argparse.Namespace) -> int:
    from mockllm.describe import condition_text, routes_json

    rows = routes_json(ctx)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        when = condition_text(r["when_header"], r["when_query"])
        cond = f" (when {when})" if when else ""
        print(f"{r['method']:<7} {r['path']:<34} {r['key']:<24} {r['plugin']}{cond}")
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    """SIGTERM outside uvicorn's own handling: stop now, with exit status 0.

    Not ``SystemExit``: the signal can land while a coroutine of uvicorn's runs (its
    lifespan task catches ``BaseException``, and asyncio's clean-up then waits on tasks that
    a half-started server never finishes), so an exception here was sometimes swallowed and
    serve ran on. Everything worth keeping has been written by then: uvicorn re-raises the
    signal after its graceful shutdown, and before it takes the signal over nothing has been
    served yet.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _serve(args: argparse.Namespace, options: StartupOptions, origins: dict[str, str]) -> int:
    from mockllm.app import build_app
    from mockllm.startup import replaced_builtins

    if args.workers <= 1:
        # Installed before the banner: a SIGTERM sent as soon as the banner is read must
        # find it (before, the default action killed the process with the signal).
        signal.signal(signal.SIGTERM, _exit_cleanly)
    ctx = create_context(options)  # fails fast, in the parent, with one readable line
    for warning in replaced_builtins(ctx):
        logging.getLogger("mockllm").warning(warning)
    level = logging.DEBUG if args.log_level == "trace" else args.log_level.upper()
    logging.getLogger().setLevel(level)
    # A successful hot reload is worth a line even at the default log level.
    logging.getLogger("mockllm.reload").setLevel(
        min(logging.INFO, logging.getLogger().getEffectiveLevel()))
    if (args.http or ctx.config.server.http) == "mockllm":
        return _serve_own(args, options, origins, ctx)
    import uvicorn

    # SIGTERM: in-flight answers get shutdown_timeout_s to finish, then they are cancelled
    # and the process exits 0 (uvicorn alone would wait for the slowest, for ever).
    common = dict(host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                  timeout_graceful_shutdown=ctx.config.server.shutdown_timeout_s)
    _banner(ctx, args, args.port, origins)
    if args.workers > 1:
        with _shared_state(ctx, options):
            uvicorn.run("mockllm.cli:worker_app", factory=True, workers=args.workers, **common)
        return 0
    # uvicorn re-raises the SIGTERM it caught once it has shut down, which would end the
    # process with the signal; a graceful stop is a clean exit, so that re-raise lands in
    # _exit_cleanly (installed above), as does a SIGTERM before uvicorn takes it over.
    uvicorn.run(build_app(ctx), **common)
    return 0


def _serve_own(args: argparse.Namespace, options: StartupOptions, origins: dict[str, str],
               ctx: ServerContext) -> int:
    """``serve`` on mockllm's own HTTP layer (mockllm/http). The socket is bound before the
    banner, so the banner names the port really served (``--port 0``: a free one)."""
    from mockllm.app import build_app
    from mockllm.http import Server, bind

    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise ValueError(f"cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}") from None
    with sock:
        _banner(ctx, args, int(sock.getsockname()[1]), origins)
        timeout = ctx.config.server.shutdown_timeout_s
        if args.workers > 1:
            from mockllm.http.workers import Supervisor

            with _shared_state(ctx, options):
                return Supervisor(worker_app, sock, args.workers,
                                  shutdown_timeout_s=timeout).run()
        # Until the server takes SIGTERM over, _exit_cleanly (installed above) answers it;
        # after its graceful stop the server returns 0.
        return Server(build_app(ctx), sock, shutdown_timeout_s=timeout).run()


def _banner(ctx: ServerContext, args: argparse.Namespace, port: int,
            origins: dict[str, str]) -> None:
    from mockllm.startup import banner

    host = f"[{args.host}]" if ":" in args.host else args.host
    for line in banner(ctx, f"http://{host}:{port}", args.workers, origins):
        print(line, file=sys.stderr, flush=True)
    exposed = bind_warning(args.host, ctx.config.server.api_keys)
    if exposed:
        print(f"mockllm: warning: {exposed}", file=sys.stderr)


@contextlib.contextmanager
def _shared_state(ctx: ServerContext, options: StartupOptions) -> Iterator[None]:
    """What ``--workers`` processes share: with no shared store configured, a store in
    this (the supervisor's) process on a unix socket (mockllm.state.embedded); the workers
    get the start-up options from the environment."""
    with contextlib.ExitStack() as stack:
        if not ctx.state.shared:
            from mockllm.state.embedded import running

            options.state = stack.enter_context(running())
        os.environ[OPTIONS_ENV] = json.dumps(options.__dict__)
        yield


def bind_warning(host: str, api_keys: list[str]) -> str | None:
    """What to tell someone who serves beyond this machine with no API keys set."""
    import ipaddress

    name = host.strip("[]")
    if name == "localhost":
        return None
    try:
        if ipaddress.ip_address(name).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may well resolve to a public address
    if api_keys:
        return None
    return (f"serving on {host} with no server.api_keys: anyone who can reach this port can "
            "use the mock's API. Set server.api_keys to require a key (the admin API still "
            "answers loopback clients only unless server.admin_token is set).")


def _record(args: argparse.Namespace) -> int:
    from pathlib import Path

    import uvicorn

    from mockllm.record.proxy import QuietUpstreamClosed, Recorder, upstream_base

    if not args.upstream.startswith(("http://", "https://")):
        raise ValueError(f"--upstream must be an http:// or https:// URL, got {args.upstream!r}")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValueError(f"--out: no such directory: {out.parent}")
    logging.getLogger("mockllm.record").setLevel(logging.INFO)
    logging.getLogger("uvicorn.error").addFilter(QuietUpstreamClosed())
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"mockllm: recording http://{host}:{args.port} -> {upstream_base(args.upstream)}, "
          f"writing {out}", file=sys.stderr, flush=True)
    uvicorn.run(Recorder(args.upstream, out), host=args.host, port=args.port,
                log_level="warning", access_log=False, lifespan="on")
    return 0


def worker_app() -> object:
    """The app factory each ``--workers`` process calls (they share the state)."""
    from mockllm.app import build_app

    options = StartupOptions(**json.loads(os.environ[OPTIONS_ENV]))
    return build_app(create_context(options))
