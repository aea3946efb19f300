"""The embedded store's keyspace and commands (``mockllm.state.embedded`` serves them): the
subset of Redis the shared state uses, with Redis's replies and error messages.

Commands: PING ECHO SELECT CLIENT FLUSHDB, GET SET(PX) STRLEN DEL EXISTS INCRBY DECRBY
PEXPIRE PTTL, HGET HMGET HSET HDEL HGETALL HINCRBY, RPUSH LRANGE LTRIM LREM LLEN LPOP, PUBLISH,
PUBSUB NUMSUB
(MULTI EXEC DISCARD SUBSCRIBE UNSUBSCRIBE are the connection's, in embedded.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Reply = bytes | int | list[Any] | None | Exception


class CommandError(Exception):
    """An error reply (``-ERR ...``)."""


class _Status(bytes):
    """A status reply (``+OK``); any other bytes go out as a bulk string."""


OK, QUEUED, PONG = _Status(b"OK"), _Status(b"QUEUED"), _Status(b"PONG")


def encode(value: Reply) -> bytes:
    if isinstance(value, Exception):
        return b"-" + str(value).encode() + b"\r\n"
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, _Status):
        return b"+" + value + b"\r\n"
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, int):
        return b":%d\r\n" % value
    return b"*%d\r\n" % len(value) + b"".join(encode(v) for v in value)


class Data:
    """The keyspace: values are bytes, dicts (hashes) or lists; expiry per key."""

    def __init__(self) -> None:
        self.keys: dict[bytes, Any] = {}
        self.expires: dict[bytes, float] = {}

    def get(self, key: bytes, kind: type) -> Any:
        deadline = self.expires.get(key)
        if deadline is not None and deadline <= time.monotonic():
            self.keys.pop(key, None)
            del self.expires[key]
        value = self.keys.get(key)
        if value is not None and not isinstance(value, kind):
            raise CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
        return value

    def put(self, key: bytes, value: Any) -> None:
        self.keys[key] = value

    def drop(self, key: bytes) -> bool:
        self.expires.pop(key, None)
        return self.keys.pop(key, None) is not None


def _int(b: bytes) -> int:
    try:
        return int(b)
    except ValueError:
        raise CommandError("ERR value is not an integer or out of range") from None


def _range(n: int, start: int, stop: int) -> tuple[int, int]:
    if start < 0:
        start = max(n + start, 0)
    if stop < 0:
        stop = n + stop
    return start, min(stop, n - 1) + 1


class Commands:
    """One method per command, each taking the arguments as bytes."""

    def __init__(self, data: Data, publish: Callable[[bytes, bytes], int],
                 numsub: Callable[[bytes], int]) -> None:
        self.d = data
        self._publish = publish
        self._numsub = numsub

    def run(self, args: list[bytes]) -> Reply:
        name = args[0].decode("latin-1").lower()
        method = getattr(self, "c_" + name, None)
        if method is None:
            return CommandError(f"ERR unknown command '{name}'")
        try:
            return method(*args[1:])  # type: ignore[no-any-return]
        except TypeError:
            return CommandError(f"ERR wrong number of arguments for '{name}' command")
        except CommandError as exc:
            return exc

    def c_ping(self, *msg: bytes) -> Reply:
        return msg[0] if msg else PONG

    def c_echo(self, msg: bytes) -> Reply:
        return msg

    def c_select(self, db: bytes) -> Reply:
        return OK

    def c_client(self, *args: bytes) -> Reply:
        return OK

    def c_flushdb(self, *args: bytes) -> Reply:
        self.d.keys.clear()
        self.d.expires.clear()
        return OK

    def c_get(self, key: bytes) -> Reply:
        value: bytes | None = self.d.get(key, bytes)
        return value

    def c_set(self, key: bytes, value: bytes, *opts: bytes) -> Reply:
        self.d.drop(key)
        self.d.put(key, value)
        if len(opts) == 2 and opts[0].upper() == b"PX":
            self.d.expires[key] = time.monotonic() + _int(opts[1]) / 1000
        return OK

    def c_del(self, *keys: bytes) -> Reply:
        return sum(self.d.drop(k) for k in keys)

    def c_exists(self, *keys: bytes) -> Reply:
        return sum(self.d.get(k, object) is not None for k in keys)

    def c_strlen(self, key: bytes) -> Reply:
        return len(self.d.get(key, bytes) or b"")

    def c_incrby(self, key: bytes, amount: bytes) -> Reply:
        value = _int(self.d.get(key, bytes) or b"0") + _int(amount)
        self.d.put(key, b"%d" % value)
        return value

    def c_decrby(self, key: bytes, amount: bytes) -> Reply:
        return self.c_incrby(key, b"%d" % -_int(amount))

    def c_pexpire(self, key: bytes, ms: bytes) -> Reply:
        if self.d.get(key, object) is None:
            return 0
        self.d.expires[key] = time.monotonic() + _int(ms) / 1000
        return 1

    def c_pttl(self, key: bytes) -> Reply:
        if self.d.get(key, object) is None:
            return -2
        deadline = self.d.expires.get(key)
        return -1 if deadline is None else max(int((deadline - time.monotonic()) * 1000), 0)

    def _hash(self, key: bytes) -> dict[bytes, bytes]:
        h: dict[bytes, bytes] | None = self.d.get(key, dict)
        if h is None:
            h = {}
            self.d.put(key, h)
        return h

    def c_hget(self, key: bytes, field: bytes) -> Reply:
        value: bytes | None = (self.d.get(key, dict) or {}).get(field)
        return value

    def c_hmget(self, key: bytes, *fields: bytes) -> Reply:
        h = self.d.get(key, dict) or {}
        return [h.get(f) for f in fields]

    def c_hset(self, key: bytes, *pairs: bytes) -> Reply:
        h = self._hash(key)
        new = 0
        for f, v in zip(pairs[::2], pairs[1::2], strict=True):
            new += f not in h
            h[f] = v
        return new

    def c_hdel(self, key: bytes, *fields: bytes) -> Reply:
        h = self.d.get(key, dict) or {}
        gone = sum(h.pop(f, None) is not None for f in fields)
        if not h:
            self.d.drop(key)
        return gone

    def c_hgetall(self, key: bytes) -> Reply:
        h = self.d.get(key, dict) or {}
        return [x for kv in h.items() for x in kv]

    def c_hincrby(self, key: bytes, field: bytes, amount: bytes) -> Reply:
        h = self._hash(key)
        value = _int(h.get(field, b"0")) + _int(amount)
        h[field] = b"%d" % value
        return value

    def _list(self, key: bytes) -> list[bytes]:
        items: list[bytes] | None = self.d.get(key, list)
        if items is None:
            items = []
            self.d.put(key, items)
        return items

    def c_rpush(self, key: bytes, *values: bytes) -> Reply:
        items = self._list(key)
        items.extend(values)
        return len(items)

    def c_lrange(self, key: bytes, start: bytes, stop: bytes) -> Reply:
        items = self.d.get(key, list) or []
        a, b = _range(len(items), _int(start), _int(stop))
        return list(items[a:b])

    def c_ltrim(self, key: bytes, start: bytes, stop: bytes) -> Reply:
        items = self.d.get(key, list)
        if items is not None:
            a, b = _range(len(items), _int(start), _int(stop))
            items[:] = items[a:b]
            if not items:
                self.d.drop(key)
        return OK

    def c_lrem(self, key: bytes, count: bytes, element: bytes) -> Reply:
        """Redis's LREM: ``count`` > 0 removes that many from the head, < 0 from the
        tail, 0 all; the number removed."""
        items = self.d.get(key, list)
        n = _int(count)
        if not items:
            return 0
        limit = abs(n) or len(items)
        order = range(len(items)) if n >= 0 else range(len(items) - 1, -1, -1)
        hits = [i for i in order if items[i] == element][:limit]
        for i in sorted(hits, reverse=True):
            del items[i]
        if not items:
            self.d.drop(key)
        return len(hits)

    def c_llen(self, key: bytes) -> Reply:
        return len(self.d.get(key, list) or [])

    def c_lpop(self, key: bytes, count: bytes | None = None) -> Reply:
        items = self.d.get(key, list)
        if not items:
            return None
        n = 1 if count is None else _int(count)
        out, items[:n] = items[:n], []
        if not items:
            self.d.drop(key)
        return list(out) if count is not None else out[0]

    def c_publish(self, channel: bytes, message: bytes) -> Reply:
        return self._publish(channel, message)

    def c_pubsub(self, sub: bytes, *channels: bytes) -> Reply:
        if sub.lower() != b"numsub":
            raise CommandError("ERR only PUBSUB NUMSUB is supported")
        return [x for c in channels for x in (c, self._numsub(c))]
