"""Runtime rules (``POST /_mockllm/rules``) parsed in a child process when the body is large.

ruamel's round-trip loader is pure Python and builds millions of tracked objects for a body of
megabytes (3.4 MB of rules: seconds of parsing, several hundred MB). In a worker thread of the
server that work holds the GIL, and worse, the cyclic collector's full collections walk those
objects with the GIL held: measured at 0.6 to 1.4 s each, during which the event loop, and so
``/health``, cannot run. In a child process neither happens: the child has its own GIL and
heap, and the server only decodes the finished rules: msgpack, in C, in frames of
:data:`BATCH` rules (one decode of all 15,000 was a single 0.26 s call holding the GIL on a
busy machine), in which the loop still gets its turns.

The child runs the very same :func:`mockllm.config.parse_rules_located`, so a large body gets
exactly the rules or the ``file:line`` problems a small one would. It then stays up, answering
``where(path)`` queries, while the server compiles the rules' plugin matchers and responders
(which needs the server's own plugins); so those problems name the line too.

Small bodies stay in the worker thread: below :data:`OFF_PROCESS_BYTES` a parse costs less
than starting the child (about 0.3 s), and its heap is too small to stall a collection.
"""

from __future__ import annotations

import gc
import logging
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

import msgspec

from mockllm.config import ConfigError, parse_rules_located
from mockllm.engine.schema import Rule

log = logging.getLogger("mockllm.rulesproc")

#: Bodies of at least this many bytes are parsed in a child process (about 280 rules).
OFF_PROCESS_BYTES = 64 * 1024

Where = Callable[[str], str]
Check = Callable[[list[Rule], Where], None]


#: Rules per frame from the child: a decode of each is about a millisecond of GIL time.
BATCH = 256


class _Parsed(msgspec.Struct):
    """The child's first answer: how many frames of rules follow, or the problems."""

    frames: int = 0
    problems: list[str] | None = None


_encode = msgspec.msgpack.Encoder().encode
_decode_parsed = msgspec.msgpack.Decoder(_Parsed).decode
_decode_rules = msgspec.msgpack.Decoder(list[Rule]).decode
#: One child at a time: each holds a parsed document of up to ``server.limits.yaml_bytes``
#: (hundreds of MB for megabytes of YAML), so concurrent large bodies wait their turn.
_one_child = threading.Lock()


def parse_and_check(text: str, filename: str, max_depth: int, check: Check) -> list[Rule]:
    """Rules from ``text`` as :func:`parse_rules_located` gives them, after ``check(rules,
    where)`` (the engine's plugin compile) passed. Raises :class:`ConfigError`. Blocking:
    call it in a worker thread."""
    if len(text) >= OFF_PROCESS_BYTES:
        try:
            with _one_child:
                return _in_child(text, filename, max_depth, check)
        except _ChildFailed as exc:  # e.g. no interpreter to start: slower, but it works
            log.warning("parsing the rules in this process: %s", exc)
    rules, where = parse_rules_located(text, filename, max_depth)
    check(rules, where)
    return rules


class _ChildFailed(Exception):
    """The child could not be started, or ended without an answer."""


def _in_child(text: str, filename: str, max_depth: int, check: Check) -> list[Rule]:
    try:
        proc = subprocess.Popen([sys.executable, "-m", __name__, filename, str(max_depth)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        raise _ChildFailed(f"cannot start {sys.executable}: {exc}") from None
    assert proc.stdin is not None and proc.stdout is not None
    try:
        try:
            _write(proc.stdin, text.encode("utf-8"))
            parsed = _decode_parsed(_read(proc.stdout))
            rules = [r for _ in range(parsed.frames) for r in _decode_rules(_read(proc.stdout))]
        except (OSError, EOFError, msgspec.DecodeError) as exc:  # its traceback is logged
            raise _ChildFailed(f"the rules parser process failed ({exc})") from None
        if parsed.problems is not None:
            raise ConfigError(parsed.problems)
        stdin, stdout = proc.stdin, proc.stdout

        def where(path: str) -> str:
            try:
                _write(stdin, path.encode("utf-8"))
                return _read(stdout).decode("utf-8")
            except (OSError, EOFError):  # the child died: the problem without its line
                return filename

        check(rules, where)
        return rules
    finally:
        try:
            proc.stdin.close()  # the child's cue to exit
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _write(f: IO[bytes], data: bytes) -> None:
    f.write(struct.pack(">I", len(data)))
    f.write(data)
    f.flush()


def _read(f: IO[bytes]) -> bytes:
    head = f.read(4)
    (size,) = struct.unpack(">I", head) if len(head) == 4 else (-1,)
    data = f.read(size) if size >= 0 else b""
    if len(data) != size:
        raise EOFError("the pipe closed before a whole answer")
    return data


def _child(filename: str, max_depth: int) -> None:
    # The child's document lives until it exits: full collections over it would only cost
    # time (it is freed all at once when the process ends).
    gc.disable()
    # The answers go down a private copy of stdout; anything else printed goes to stderr.
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    text = _read(stdin).decode("utf-8")
    try:
        rules, where = parse_rules_located(text, filename, max_depth)
    except ConfigError as exc:
        _write(stdout, _encode(_Parsed(problems=exc.problems)))
        return
    batches = [rules[i:i + BATCH] for i in range(0, len(rules), BATCH)]
    _write(stdout, _encode(_Parsed(frames=len(batches))))
    for batch in batches:
        _write(stdout, _encode(batch))
    while head := stdin.read(4):
        (size,) = struct.unpack(">I", head)
        _write(stdout, where(stdin.read(size).decode("utf-8")).encode("utf-8"))


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
