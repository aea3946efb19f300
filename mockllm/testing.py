"""The pytest plugin (entry point ``pytest11``) and helpers to run mockllm inside tests.

Fixtures (the guide is docs/testing.md):

- ``mockllm_server``: one live server per session (per xdist worker), on the embedded
  default config or the ini option ``mockllm_config``.
- ``mockllm``: a :class:`MockLLM` handle for one test: ``add_rules``, ``requests``,
  ``last_request``, ``assert_called``. ``@pytest.mark.mockllm(config=..., rules=...)``
  gives a test its own config or rules.
- ``mockllm_env``: the SDKs' environment variables pointed at that server for the test.

Before every test that uses one of them, the server's runtime rules, rule counters
(sequences, ``times``), runtime plugin switches and journal are reset.

pytest imports this module in every run where mockllm is installed, so it imports nothing
of the server (starlette, uvicorn, tiktoken...) until a fixture is used.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockllm.context import ServerContext
    from mockllm.journal import Entry

#: ``requests`` waits this long at most for answers still being sent (then shows what it has).
SETTLE_TIMEOUT = 10.0

_MARKER_HELP = ("mockllm(config=None, rules=None): run the test on its own mockllm config "
                "file (path relative to the test file) and/or with these rules added")
_SERVER_FIXTURES = frozenset({"mockllm_server", "mockllm", "mockllm_env"})


class _InFlight:
    """Counts model requests still being answered, so the journal is read only once their
    answers are complete (a streamed answer is journaled after its last byte is sent)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.cond = threading.Condition()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_mockllm/"):
            await self.app(scope, receive, send)
            return
        with self.cond:
            self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self.cond:
                self.count -= 1
                self.cond.notify_all()

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.count == 0, timeout)


class LiveServer:
    """A mockllm server listening on a loopback port, in a thread of this process."""

    def __init__(self, url: str, context: ServerContext, in_flight: _InFlight) -> None:
        self.url = url
        self.context = context
        self._in_flight = in_flight

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    #: Older name of :attr:`openai_base_url`.
    openai_url = openai_base_url

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def ollama_host(self) -> str:
        return self.url

    def admin(self, method: str, path: str, body: bytes | None = None,
              content_type: str = "application/json") -> Any:
        """Call the admin API (``/_mockllm/...``); an error answer raises ``AdminError``."""
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.url + "/_mockllm/" + path, data=body, method=method,
                                     headers={"content-type": content_type})
        try:
            # Loopback needs no proxy, whatever HTTP_PROXY says.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            with exc:  # it holds the connection: close it, or its socket leaks
                detail = json.loads(exc.read() or b"{}").get("error", {}).get("message",
                                                                              str(exc))
            raise AdminError(exc.code, detail) from None

    def reset(self) -> None:
        """Forget runtime rules, rule counters, runtime plugin switches and the journal."""
        self._in_flight.settle()
        self.admin("POST", "reset")

    def journal(self) -> list[Entry]:
        import msgspec

        from mockllm.journal import Entry

        self._in_flight.settle()
        return msgspec.convert(self.admin("GET", "requests")["requests"], list[Entry])


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@contextlib.contextmanager
def run_server(context: ServerContext, timeout: float = 60.0,
               http: str | None = None) -> Iterator[LiveServer]:
    """Serve ``context`` on 127.0.0.1 (a free port) for the duration of the block, on
    ``http`` (``mockllm`` or ``uvicorn``; default: the config's ``server.http``)."""
    from mockllm.app import build_app
    from mockllm.http.threaded import serve_in_thread

    app = _InFlight(build_app(context))
    with serve_in_thread(app, http or context.config.server.http,
                         context.config.server.shutdown_timeout_s, timeout) as port:
        yield LiveServer(f"http://127.0.0.1:{port}", context, app)


@contextlib.contextmanager
def run_config(text: str, **kwargs: object) -> Iterator[LiveServer]:
    """A live server on the config ``text`` (YAML), written to a temporary file."""
    with tempfile.TemporaryDirectory(prefix="mockllm-") as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text)
        with run_server(test_context(config_path=str(path), **kwargs)) as live:
            yield live


def test_context(**kwargs: object) -> ServerContext:
    """A fresh context with entry-point autoload off unless asked (tests stay hermetic)."""
    from mockllm.assembly import StartupOptions, create_context

    kwargs.setdefault("autoload", False)
    return create_context(StartupOptions(**kwargs))  # type: ignore[arg-type]


test_context.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _contains(entry: Entry, text: str) -> bool:
    """In the raw JSON body, or in any string of it once decoded (quotes, non-ASCII)."""
    if text in entry.body:
        return True
    try:
        return any(text in s for s in _strings(json.loads(entry.body)))
    except ValueError:  # a body cut at the journal's size limit
        return False


def _describe(entry: Entry) -> str:
    body = entry.body if len(entry.body) <= 160 else entry.body[:157] + "..."
    return (f"{entry.endpoint} model={entry.model} status={entry.status} "
            f"rule={entry.rule} body={body}")


class MockLLM:
    """A test's handle on its mockllm server (the ``mockllm`` fixture)."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def openai_base_url(self) -> str:
        return self.server.openai_base_url

    @property
    def anthropic_base_url(self) -> str:
        return self.server.anthropic_base_url

    @property
    def ollama_host(self) -> str:
        return self.server.ollama_host

    def add_rules(self, rules: str | Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[str]:
        """Add rules ahead of the config's, for this test only. ``rules`` is YAML text, one
        rule (a dict), a list of rules or ``{"rules": [...]}``. Returns the rules' names.
        A bad rule raises ``mockllm.config.ConfigError`` with its line and key path."""
        if isinstance(rules, str):
            body, kind = rules.encode(), "application/yaml"
        else:
            body, kind = json.dumps(rules).encode(), "application/json"
        try:
            return list(self.server.admin("POST", "rules", body, kind)["added"])
        except AdminError as exc:
            from mockllm.config import ConfigError

            raise ConfigError([str(exc)]) from None

    @property
    def requests(self) -> list[Entry]:
        """The journal entries of this test, oldest first (bodies cut at 4 KiB)."""
        return self.server.journal()

    @property
    def last_request(self) -> Entry:
        entries = self.requests
        if not entries:
            raise AssertionError("no request reached mockllm in this test")
        return entries[-1]

    def calls(self, model: str | None = None, endpoint: str | None = None,
              contains: str | None = None) -> list[Entry]:
        """This test's requests that match: ``model`` is a glob on the model id,
        ``endpoint`` a key (``openai.chat``) or a provider (``openai``), ``contains`` a
        substring of the request body."""
        if model is not None and not any(c in model for c in "*?["):
            known = self.server.context.engine.models.get(model)
            model = known.id if known is not None else model  # an alias: the journal's id
        return [
            e for e in self.requests
            if (model is None or (e.model is not None and fnmatch.fnmatchcase(e.model, model)))
            and (endpoint is None or e.endpoint == endpoint
                 or e.endpoint.startswith(endpoint + "."))
            and (contains is None or _contains(e, contains))
        ]

    def assert_called(self, model: str | None = None, endpoint: str | None = None,
                      contains: str | None = None, times: int | None = None) -> list[Entry]:
        """Assert that matching requests were made: at least once, or exactly ``times``.
        Returns them. The failure message lists every request of the test."""
        everything = self.requests
        found = self.calls(model, endpoint, contains)
        if (len(found) >= 1) if times is None else (len(found) == times):
            return found
        wanted = ", ".join(f"{k}={v!r}" for k, v in
                           (("endpoint", endpoint), ("model", model), ("contains", contains))
                           if v is not None) or "any request"
        expected = "at least once" if times is None else f"{times} time(s)"
        lines = [f"mockllm: expected {wanted} {expected}, found {len(found)}."]
        if everything:
            lines.append(f"The {len(everything)} request(s) of this test:")
            lines += [f"  {i}. {_describe(e)}" for i, e in enumerate(everything, 1)]
        else:
            lines.append("No request reached mockllm in this test (is the client pointed at "
                         f"{self.url}?).")
        raise AssertionError("\n".join(lines))


# -- pytest hooks and fixtures ------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("mockllm_config", "config file for the session's mockllm_server "
                  "(relative to the rootdir; default: the embedded config)", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)


def _context_for(path: str | None) -> ServerContext:
    from mockllm.assembly import StartupOptions, create_context

    return create_context(StartupOptions(config_path=path))


class _Servers:
    """Servers of ``@pytest.mark.mockllm(config=...)``: one per config file, per session."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.by_path: dict[str, LiveServer] = {}

    def get(self, path: str) -> LiveServer:
        if path not in self.by_path:
            self.by_path[path] = self.stack.enter_context(run_server(_context_for(path)))
        return self.by_path[path]


@pytest.fixture(scope="session")
def _mockllm_servers() -> Iterator[_Servers]:
    with contextlib.ExitStack() as stack:
        yield _Servers(stack)


@pytest.fixture(scope="session")
def mockllm_server(pytestconfig: pytest.Config) -> Iterator[LiveServer]:
    """The session's live server (one per xdist worker)."""
    path = str(pytestconfig.getini("mockllm_config") or "")
    config = str(pytestconfig.rootpath / path) if path else None
    with run_server(_context_for(config)) as live:
        yield live


@pytest.fixture(autouse=True)
def _mockllm_isolation(request: pytest.FixtureRequest) -> None:
    # Only tests that reach the server pay for (and start) it.
    if _SERVER_FIXTURES.intersection(request.fixturenames):
        request.getfixturevalue("mockllm_server").reset()


@pytest.fixture
def mockllm(request: pytest.FixtureRequest, mockllm_server: LiveServer) -> Iterator[MockLLM]:
    """This test's handle: its rules, its requests, its assertions."""
    server = mockllm_server
    marker = request.node.get_closest_marker("mockllm")
    if marker is not None:
        if set(marker.kwargs) - {"config", "rules"} or marker.args:
            raise pytest.UsageError("use @pytest.mark.mockllm(config='file.yaml', rules=[...])")
        if marker.kwargs.get("config"):
            path = Path(request.node.path).parent / str(marker.kwargs["config"])
            servers: _Servers = request.getfixturevalue("_mockllm_servers")
            server = servers.get(str(path.resolve()))
            server.reset()
    handle = MockLLM(server)
    if marker is not None and marker.kwargs.get("rules"):
        handle.add_rules(marker.kwargs["rules"])
    yield handle
    # Rules added by this test never answer the next one, whatever fixtures it uses.
    server.reset()


@pytest.fixture
def mockllm_env(mockllm: MockLLM, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point unmodified code (the SDKs' environment variables) at this test's server."""
    env = {
        "OPENAI_BASE_URL": mockllm.openai_base_url,
        "OPENAI_API_KEY": "mockllm",
        "ANTHROPIC_BASE_URL": mockllm.anthropic_base_url,
        "ANTHROPIC_API_KEY": "mockllm",
        "OLLAMA_HOST": mockllm.ollama_host,
        "GOOGLE_GEMINI_BASE_URL": mockllm.url,
        "GEMINI_API_KEY": "mockllm",
        # boto3's bedrock-runtime client: a service-specific endpoint and fake credentials
        # (the mock checks that requests are signed, not the signature).
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": mockllm.url,
        "AWS_ACCESS_KEY_ID": "mockllm",
        "AWS_SECRET_ACCESS_KEY": "mockllm",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def mockllm_journal(mockllm: MockLLM) -> Any:
    """Older fixture: the in-process journal of this test (prefer ``mockllm.requests``)."""
    return mockllm.server.context.journal
