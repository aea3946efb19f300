"""The response head: status line, the server's own headers and the framing decision, built
with one join so the head (and a small body) leave in one ``transport.write``.

uvicorn checks every header name and value with a regular expression on every response.
Only CR and LF can do harm here (they would split the response), so the joined head is
checked once instead: it must hold exactly one CRLF per line it was built from.
"""

from __future__ import annotations

import http
import time
from email.utils import formatdate

#: ``HTTP/1.1 200 OK\r\n`` per known status; an unknown code gets an empty reason phrase.
_STATUS = {int(s): f"HTTP/1.1 {int(s)} {s.phrase}\r\n".encode("ascii") for s in http.HTTPStatus}

#: Statuses (and HEAD) that have no body and so no framing (RFC 9112, 6.3).
NO_BODY = frozenset({204, 304})


def status_line(status: int) -> bytes:
    line = _STATUS.get(status)
    if line is None:
        line = b"HTTP/1.1 %d \r\n" % status
    return line


class DateHeader:
    """``date: ...\\r\\nserver: mockllm\\r\\n``, rebuilt at most once a second (formatting a
    date costs more than the rest of the head)."""

    __slots__ = ("second", "value")

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = (b"date: " + formatdate(now, usegmt=True).encode("ascii")
                          + b"\r\nserver: mockllm\r\n")
        return self.value


class Framing:
    """What the app's ``http.response.start`` headers say about the body that follows."""

    __slots__ = ("head", "length", "chunked", "close", "bodiless")

    def __init__(self, head: bytes, length: int | None, chunked: bool, close: bool,
                 bodiless: bool) -> None:
        #: The whole head, ending in the blank line.
        self.head = head
        #: Body bytes still promised by ``content-length``; None: not given.
        self.length = length
        #: Body messages are sent as chunks (no length given, HTTP/1.1, a body allowed).
        self.chunked = chunked
        #: The connection closes after this response.
        self.close = close
        #: No body goes on the wire (HEAD, 204, 304), whatever the app sends.
        self.bodiless = bodiless


def build_head(status: int, headers: list[tuple[bytes, bytes]], date: bytes,
               keep_alive: bool, http10: bool, bodiless: bool) -> Framing:
    """The head for ``status`` and the app's ``headers`` (names lower-case, as ASGI says).

    ``bodiless``: a HEAD request or a 204/304, which carry no body and no framing.
    Raises ``ValueError`` for a header that holds CR or LF.
    """
    parts = [_STATUS.get(status) or status_line(status), date]
    length: int | None = None
    chunked = False
    close = not keep_alive
    said_close = False
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and value.lower() == b"chunked":
            chunked = True  # as uvicorn: the app asks for chunks, the server cuts them
        elif name == b"connection" and b"close" in value.lower():
            close = said_close = True
    lines = 3 + len(headers)  # status, date, server, the app's; the blank line below
    if bodiless:
        length, chunked = None, False
    elif chunked:
        length = None
    elif length is None:
        if http10:
            close = True  # an HTTP/1.0 client knows no chunks: the body ends with the socket
        else:
            chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
            lines += 1
    if close and not said_close:
        parts.append(b"connection: close\r\n")
        lines += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    lines += 1
    if head.count(b"\n") != lines or head.count(b"\r") != lines:
        raise ValueError("a response header name or value holds CR or LF")
    return Framing(head, length, chunked, close, bodiless)


def chunk(body: bytes, last: bool) -> bytes:
    """``body`` as one chunk; ``last`` adds the terminating empty chunk."""
    if not body:
        return b"0\r\n\r\n" if last else b""
    if last:
        return b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
    return b"%x\r\n%b\r\n" % (len(body), body)
