"""Who may use the admin API: the checks that keep a web page from rewriting the mock.

A developer's browser can reach ``127.0.0.1:8000`` too. Without these checks any page it
opens could ``POST /_mockllm/rules`` (a ``text/plain`` form post needs no CORS preflight), and
a DNS-rebinding page (``evil.example`` resolving to 127.0.0.1) could even read the answers.

- **Host** must name this machine: ``localhost`` (or ``*.localhost``), an IP address (a
  rebinding attack needs a domain name of its own), or a name in ``server.admin_hosts``.
- **Origin**: a state-changing request (anything but GET/HEAD) that a browser marks as coming
  from another site (``Origin`` not this host, not loopback, not listed; or
  ``Sec-Fetch-Site: cross-site``) is refused.
- **Content type**: a state-changing request with a body must say it is JSON or YAML, which
  no cross-site form can (forms send ``text/plain``, urlencoded or multipart).
- **Client**: without ``server.admin_token``, loopback clients only; with it, every client
  (loopback included) must send ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request

from mockllm import ApiError
from mockllm.config import ServerConfig

#: Media types a state-changing admin body may have (``+json`` suffixes count as JSON).
BODY_TYPES = frozenset({"application/json", "application/yaml", "application/x-yaml",
                        "text/yaml", "text/x-yaml"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_change(request: Request) -> bool:
    return request.method not in _SAFE_METHODS


def _hostname(host: str) -> str:
    """``host[:port]`` or ``[v6]:port`` to the bare, lower-cased name or address."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host  # a bare name, or a bare IPv6 address


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback(name: str) -> bool:
    """``localhost``, ``*.localhost`` or a loopback address (127.0.0.0/8, ::1, mapped)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _ip(name)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def host_allowed(host: str, server: ServerConfig) -> bool:
    name = _hostname(host)
    return (is_loopback(name) or _ip(name) is not None
            or name in {h.lower() for h in server.admin_hosts})


def origin_allowed(origin: str, host: str, server: ServerConfig) -> bool:
    """Same origin as ``host``, a loopback origin, or one in ``server.admin_hosts``."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (sandboxed frames, file://) and anything odd
    name = _hostname(parts.netloc)
    return (parts.netloc.lower() == host.strip().lower() or is_loopback(name)
            or name in {h.lower() for h in server.admin_hosts})


def check(request: Request, server: ServerConfig) -> None:
    """Raise the ApiError (401/403) that refuses ``request`` (before its body is read)."""
    headers = request.headers
    host = headers.get("host", "")
    if not host_allowed(host, server):
        raise ApiError(403, f"admin API: Host {host!r} is not this machine; add it to "
                            "server.admin_hosts to allow it (DNS-rebinding protection)")
    token = server.admin_token
    if token:
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        # Bytes, not str: compare_digest refuses non-ASCII strings with a TypeError, and
        # a header can carry any byte (Starlette decodes headers as latin-1).
        if not hmac.compare_digest(given.encode("latin-1"), token.encode("utf-8")):
            raise ApiError(401, "admin API: missing or wrong bearer token")
    elif request.client is None or not (is_loopback(request.client.host)
                                        or request.client.host == "testclient"):
        raise ApiError(403, "admin API answers loopback clients only (set server.admin_token)")
    if not is_change(request):
        return
    origin = headers.get("origin")
    if (origin is not None and not origin_allowed(origin, host, server)) or \
            headers.get("sec-fetch-site") == "cross-site":
        raise ApiError(403, f"admin API: refused a cross-site request (Origin {origin!r}); "
                            "add the origin's host to server.admin_hosts to allow it")


def check_body(request: Request, body: bytes) -> None:
    """A state-changing request's body must be typed JSON or YAML (415 otherwise)."""
    if body:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media not in BODY_TYPES and not media.endswith("+json"):
            raise ApiError(415, "admin API: a request body must be JSON or YAML "
                                "(Content-Type: application/json or application/yaml), "
                                f"not {media or 'untyped'!r}")
