"""The request path's own RESP link (``mockllm.state.link``) and the embedded store's parser:
the same replies as redis-py gets, against the embedded store and a real redis-server;
a broken connection is reopened, never read out of step."""

from __future__ import annotations

import pytest
import redis

from mockllm.state.embedded import running
from mockllm.state.link import Link
from mockllm.state.resp import pack, parse_commands


def _exchange(url: str) -> list[object]:
    r = redis.Redis.from_url(url, protocol=2)  # as the shared state opens it
    r.delete("lk", "lq")
    link = Link(r.connection_pool)
    out: list[object] = [link.call(pack(b"HINCRBY", b"lk", b"f", b"1"), 1),
                         link.call(pack(b"HINCRBY", b"lk", b"f", b"2"), 1)]
    # A transaction in one write, as quota_add sends it.
    out.append(link.call(b"".join((pack(b"MULTI"), pack(b"HINCRBY", b"lq", b"r", b"1"),
                                   pack(b"PEXPIRE", b"lq", b"60000"), pack(b"EXEC"))), 4))
    out.append(link.call(pack(b"GET", b"missing") + pack(b"SET", b"lk2", b"a\r\nb")
                         + pack(b"GET", b"lk2"), 3))
    err = link.call(pack(b"INCRBY", b"lk", b"1"), 1)[0]  # a hash: WRONGTYPE
    out.append(type(err).__name__)
    link.close()  # the next call opens a new connection
    out.append(link.call(pack(b"HINCRBY", b"lk", b"f", b"1"), 1))
    link.close()
    r.delete("lk", "lq", "lk2")
    r.close()
    return out


def test_the_link_reads_what_redis_answers(redis_url: str) -> None:
    expected = [[1], [3], [b"OK", b"QUEUED", b"QUEUED", [1, 1]], [None, b"OK", b"a\r\nb"],
                "ResponseError", [4]]
    assert _exchange(redis_url) == expected
    with running() as url:
        assert _exchange(url) == expected


def test_a_dead_store_is_a_connection_error_and_the_link_recovers() -> None:
    with running() as url:
        link = Link(redis.Redis.from_url(url, protocol=2, socket_timeout=2.0).connection_pool)
        assert link.call(pack(b"PING"), 1) == [b"PONG"]
    with pytest.raises((OSError, redis.RedisError)):
        link.call(pack(b"PING"), 1)
    with pytest.raises((OSError, redis.RedisError)):  # still refused, still no stale bytes
        link.call(pack(b"PING"), 1)


def test_the_parser_keeps_a_partial_command_for_the_next_read() -> None:
    whole = pack(b"RPUSH", b"l", b"x" * 10)
    buf = bytearray(pack(b"SET", b"k", b"v\r\n") + b"PING\r\n" + whole[:-4])
    assert parse_commands(buf) == [[b"SET", b"k", b"v\r\n"], [b"PING"]]
    assert bytes(buf) == whole[:-4]
    buf += whole[-4:]
    assert parse_commands(buf) == [[b"RPUSH", b"l", b"x" * 10]]
    assert buf == bytearray()
    with pytest.raises(ValueError):
        parse_commands(bytearray(b"*1\r\n+nope\r\n"))


def test_a_connection_closed_while_idle_is_reopened_once(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url, protocol=2)
    r.delete("lk3")
    link = Link(redis.Redis.from_url(redis_url, protocol=2).connection_pool)
    assert link.call(pack(b"HINCRBY", b"lk3", b"f", b"1"), 1) == [1]
    assert r.client_kill_filter(_type="normal", skipme=True) >= 1  # the link's connection
    # The count goes through on a new connection, and only once.
    assert link.call(pack(b"HINCRBY", b"lk3", b"f", b"1"), 1) == [2]
    assert r.hget("lk3", "f") == b"2"
    link.close()
    r.delete("lk3")
    r.close()
