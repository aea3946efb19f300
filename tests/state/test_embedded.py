"""The embedded store answers every command the shared state sends exactly as a real
redis-server does: the same script through the same client, against both."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from mockllm.state.embedded import EmbeddedStore, running


def _script(r: redis.Redis) -> list[Any]:
    out: list[Any] = [r.ping(), r.set("k", "v"), r.get("k"), r.get("missing"), r.exists("k")]
    out += [r.incrby("n", 3), r.incrby("n", -1), r.hincrby("h", "f", 2), r.hincrby("h", "f", 1)]
    out += [r.hset("h", "g", "x"), r.hget("h", "g"), r.hmget("h", ["f", "nope", "g"])]
    out += [sorted(r.hgetall("h").items()), r.hdel("h", "g", "nope"), r.hgetall("missing")]
    out += [r.rpush("l", *"abcde"), r.lrange("l", 0, -1), r.lrange("l", -2, -1),
            r.ltrim("l", -3, -1), r.lrange("l", 0, -1), r.llen("l"), r.lpop("l", 2),
            r.lpop("l"), r.lpop("l"), r.lpop("l", 1), r.llen("l")]
    # What the byte budgets use: STRLEN, DECRBY (through zero), LREM from either end.
    out += [r.strlen("k"), r.strlen("missing"), r.decrby("b", 7), r.decrby("b", -10),
            r.rpush("r", *"abacaba"), r.lrem("r", 2, "a"), r.lrange("r", 0, -1),
            r.lrem("r", -1, "b"), r.lrange("r", 0, -1), r.lrem("r", 0, "c"),
            r.lrem("r", 0, "zz"), r.lrem("missing", 1, "a"), r.lrem("r", 0, "a"),
            r.lrem("r", 0, "b"), r.exists("r")]
    pipe = r.pipeline(transaction=True)
    pipe.incrby("q", 5)
    pipe.pexpire("q", 60_000)
    pipe.get("q")
    pipe.rpush("l2", "x")
    out.append(pipe.execute())
    out += [0 < r.pttl("q") <= 60_000, r.pttl("k"), r.pttl("missing")]
    out += [r.set("short", "1", px=50)]
    time.sleep(0.1)
    out += [r.get("short"), r.delete("k", "l2", "missing"), r.exists("k")]
    with pytest.raises(redis.ResponseError):
        r.hincrby("k2", "f", 1) if r.set("k2", "s") else None
    with pytest.raises(redis.ResponseError):
        r.incrby("h", 1)
    ps = r.pubsub()
    ps.subscribe("c")
    out.append(ps.get_message(timeout=5))
    out += [r.publish("c", "hi"), r.publish("nobody", "x"), r.pubsub_numsub("c")]
    out.append(ps.get_message(timeout=5))
    ps.close()
    return out


@pytest.fixture
def embedded() -> Iterator[redis.Redis]:
    with running() as url:
        client = redis.Redis.from_url(url, protocol=2)
        yield client
        client.close()


def test_the_embedded_store_answers_like_redis(embedded: redis.Redis, redis_url: str) -> None:
    real = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1", protocol=2)
    real.flushdb()
    try:
        assert _script(embedded) == _script(real)
    finally:
        real.flushdb()
        real.close()


def test_unknown_commands_and_bad_arguments_are_errors_not_crashes(
        embedded: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError, match="unknown command"):
        embedded.execute_command("FLUSHALL")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        embedded.execute_command("GET")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        embedded.execute_command("INCRBY", "n", "x")
    assert embedded.ping()  # the connection and the server are still fine


def test_the_socket_goes_away_with_the_store() -> None:
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "s.sock")
    store = EmbeddedStore(path)
    store.start_thread()
    with redis.Redis(unix_socket_path=path, protocol=2) as client:
        assert client.ping()
    store.stop()
    with running() as url:
        socket_path = url.removeprefix("unix://")
        assert os.path.exists(socket_path)
    assert not os.path.exists(socket_path)
