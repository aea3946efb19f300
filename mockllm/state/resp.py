"""The Redis protocol (RESP2) both ends of the shared state speak, at the level they need:
packing a command (:mod:`mockllm.state.link`, the request path's round trip) and taking
commands off a read buffer (:mod:`mockllm.state.embedded`, ``--workers``' store)."""

from __future__ import annotations

__all__ = ["pack", "pack_many", "parse_commands"]


def pack(*args: bytes) -> bytes:
    """One command in RESP2 (what ``redis-cli`` sends)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def pack_many(name: bytes, key: bytes, values: list[bytes]) -> bytes:
    """``NAME KEY VALUE...`` (a journal batch's RPUSH) in RESP2."""
    out = [b"*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(values) + 2, len(name), name,
                                                    len(key), key)]
    out += [b"$%d\r\n%s\r\n" % (len(v), v) for v in values]
    return b"".join(out)


def parse_commands(buf: bytearray) -> list[list[bytes]]:
    """Take every complete command off the front of ``buf`` (a partial one stays there).

    Why not ``StreamReader.readline`` per line: a journal batch is one RPUSH of a hundred
    entries, and two awaits per argument cost more than running the command; parsing what
    one read returned, and answering a whole pipeline with one write, keeps the store's
    CPU per request small.
    """
    out: list[list[bytes]] = []
    pos, n = 0, len(buf)
    while pos < n:
        end = buf.find(b"\r\n", pos)
        if end < 0:
            break
        if buf[pos] != 0x2A:  # not '*': an inline command (redis-cli, telnet)
            out.append(bytes(buf[pos:end]).split())
            pos = end + 2
            continue
        count, at, args = int(buf[pos + 1:end]), end + 2, []
        for _ in range(count):
            head = buf.find(b"\r\n", at)
            if head < 0 or buf[at] != 0x24:  # '$'
                if head >= 0:
                    raise ValueError("a bulk string was expected")
                break
            size = int(buf[at + 1:head])
            if head + 2 + size + 2 > n:
                break
            args.append(bytes(buf[head + 2:head + 2 + size]))
            at = head + 2 + size + 2
        if len(args) < count:
            break  # incomplete: wait for more
        out.append(args)
        pos = at
    del buf[:pos]
    return out
