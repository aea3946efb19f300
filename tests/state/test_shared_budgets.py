"""``server.memory``'s byte budgets held by the shared homes themselves (redis-server, and
``--workers``' embedded store): what is in the store stays under ``store_bytes`` whatever
process stored it, the newest stays and the oldest is the API's 404; the journal's bodies
stay under ``journal_body_bytes``, oldest bodies going first."""

from __future__ import annotations

import concurrent.futures as cf
import glob
import os
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
import redis

from mockllm.bytecache import ENTRY_OVERHEAD
from tests.state.conftest import Proc, serve

STORE_BYTES = 150_000
BODY_BYTES = 20_000
CONFIG = f"""
models:
  - {{id: gpt-4o, provider: openai}}
server: {{watch: false, memory: {{store_bytes: {STORE_BYTES},
          journal_body_bytes: {BODY_BYTES}}}}}
"""
PREFIX = b"mockllm:store:openai.responses:"


class Home:
    def __init__(self, urls: list[str], store: redis.Redis, real: bool) -> None:
        self.urls, self.store, self.real = urls, store, real
        self.clients = [openai.OpenAI(base_url=u + "/v1", api_key="k", max_retries=0,
                                      http_client=httpx.Client(headers={"connection": "close"}))
                        for u in urls]

    def stored(self) -> tuple[int, int, int]:
        """(values kept, their bytes as counted, the store's own counter)."""
        ids = [e.split(b" ", 1)[-1] for e in  # SIZE ID (an id alone before sizes)
               self.store.lrange(b"mockllm:order:openai.responses", 0, -1)]
        keys = [PREFIX + i for i in ids if self.store.exists(PREFIX + i)]
        if self.real:  # no value outside the list (the embedded store has no SCAN)
            assert set(self.store.scan_iter(match=PREFIX + b"*")) == set(keys)
        sizes = [int(self.store.strlen(k)) for k in keys]
        counter = int(self.store.get(b"mockllm:bytes:openai.responses") or 0)
        return len(keys), sum(s + ENTRY_OVERHEAD for s in sizes), counter


@pytest.fixture(scope="module", params=["workers", "redis"])
def home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         redis_url: str) -> Iterator[Home]:
    config = tmp_path_factory.mktemp(request.param) / "mock.yaml"
    procs: list[Proc] = []
    try:
        if request.param == "workers":
            config.write_text(CONFIG)
            # The supervisor's embedded store makes its socket under TMPDIR: a directory
            # of this test's own, so the socket found is this server's.
            tmp = str(tmp_path_factory.mktemp("sock"))
            old = os.environ.get("TMPDIR")
            os.environ["TMPDIR"] = tmp
            try:
                url, proc = serve(config, "--workers", "2")
            finally:
                if old is None:
                    del os.environ["TMPDIR"]
                else:
                    os.environ["TMPDIR"] = old
            procs.append(proc)
            (sock,) = glob.glob(os.path.join(tmp, "mockllm-state-*", "state.sock"))
            store = redis.Redis(unix_socket_path=sock, protocol=2)
            urls = [url, url]
        else:
            store = redis.Redis.from_url(redis_url, protocol=2)
            store.flushdb()
            config.write_text(CONFIG.replace("watch: false,",
                                             f"watch: false, state: \"{redis_url}\","))
            urls = []
            for _ in range(2):
                url, proc = serve(config)
                procs.append(proc)
                urls.append(url)
        h = Home(urls, store, request.param == "redis")
        yield h
        for c in h.clients:
            c.close()
        store.close()
    finally:
        for p in procs:
            p.stop()


def test_the_store_stays_under_its_bytes_newest_kept_oldest_gone(home: Home) -> None:
    big = "x" * 20_000  # each stored Response holds its input: ~20 KB
    ids = [home.clients[i % 2].responses.create(model="gpt-4o", input=f"{i} {big}").id
           for i in range(20)]
    kept, size, counter = home.stored()
    assert size <= STORE_BYTES and counter == size, (kept, size, counter)
    assert 4 <= kept < 20  # bounded by bytes, not by the count (1,000)
    for c in home.clients:
        assert c.responses.retrieve(ids[-1]).id == ids[-1]
        with pytest.raises(openai.NotFoundError):
            c.responses.retrieve(ids[0])
    # A delete gives its bytes back.
    home.clients[0].responses.delete(ids[-1])
    after, less, counter = home.stored()
    assert after == kept - 1 and counter == less < size


def test_concurrent_stores_keep_the_counter_exact(home: Home) -> None:
    big = "y" * 9_000

    def create(i: int) -> str:
        return home.clients[i % 2].responses.create(model="gpt-4o", input=f"{i} {big}").id

    with cf.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, range(80)))
    kept, size, counter = home.stored()
    assert size <= STORE_BYTES and counter == size, (kept, size, counter)
    assert kept >= 6, kept  # 15 fit: a concurrent put may drop one value more than needed
    assert home.clients[1].responses.retrieve(ids[-1]).id == ids[-1]


def test_journal_bodies_stay_under_their_bytes(home: Home) -> None:
    marker = uuid.uuid4().hex
    for i in range(20):
        home.clients[i % 2].chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"{marker} {i} " + "z" * 3000}])
    r = httpx.get(home.urls[0] + "/_mockllm/requests", params={"endpoint": "openai.chat"})
    entries = r.json()["requests"]  # the tests before only stored Responses
    assert len(entries) == 20  # every entry stays; only the oldest lose their body
    bodies = [len(e.get("body", "").encode()) for e in entries]
    assert 0 < sum(bodies) <= BODY_BYTES, bodies
    assert bodies[0] == 0
    kept = [i for i, b in enumerate(bodies) if b]
    assert kept == list(range(kept[0], 20))  # the newest keep theirs, the oldest lost them
    assert len(kept) >= 4  # ~3 KB each: 6 fit in 20 KB
    for e in entries[kept[0]:]:
        assert marker in e["body"]
    counter = int(home.store.get(b"mockllm:journal:bytes") or 0)
    held = sum(len(b) for b in home.store.lrange(b"mockllm:journal:bodies", 0, -1))
    assert counter == held <= BODY_BYTES


def test_clearing_the_journal_gives_every_body_byte_back(home: Home) -> None:
    for i in range(6):
        home.clients[i % 2].chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"clear {i} " + "w" * 2000}])
    httpx.get(home.urls[0] + "/_mockllm/requests")  # every process's batch is in
    assert int(home.store.get(b"mockllm:journal:bytes") or 0) > 0
    assert httpx.delete(home.urls[1] + "/_mockllm/requests").status_code == 200
    assert int(home.store.get(b"mockllm:journal:bytes") or 0) == 0
    assert home.store.llen(b"mockllm:journal:bodies") == 0
    assert httpx.get(home.urls[0] + "/_mockllm/requests").json()["requests"] == []
