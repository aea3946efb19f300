"""What one token write costs the kernel on this machine, with no server at all.

    python -m benchmarks.pacing_floor [--sockets 1000] [--rounds 100] [--bytes 220]
        [--itl 10] [--together]

A paced stream sends each token as its own TCP segment (TCP_NODELAY; that is what pacing
means). This measures the system CPU of one ``send`` of a token-sized chunk over loopback to
a reader in another process that drains every socket with epoll, as a load-test client does:
``--sockets`` connections, one send to each per round, ``--rounds`` rounds ``--itl`` ms
apart. Within a round the sockets' deadlines are spread evenly (the best case for a server:
perfectly staggered streams), or all at the round's start with ``--together`` (the worst
case: streams that started at the same instant). The sender is plain ``socket.send`` in a
loop, so its system time is the kernel's share of every token write: the TCP send, on
loopback the receiving side's TCP work too, and the wake-up of the reader.

From that it prints the share of one core the kernel alone needs for ``--sockets`` streams
at one token per ``--itl`` ms. When that share is near or above 1, no single-threaded server
can keep those streams on time on this machine, whatever it does in user space. It also
prints the pacing error this zero-overhead sender itself achieves: each send's return time
minus its due time.
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import socket
import time


def reader(port: int, sockets: int, total: int) -> None:
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(sockets)]
    poller = select.epoll()
    by_fd = {}
    for c in conns:
        c.setblocking(False)
        poller.register(c.fileno(), select.EPOLLIN)
        by_fd[c.fileno()] = c
    got = 0
    while got < total:
        for fd, _ in poller.poll():
            try:
                got += len(by_fd[fd].recv(65536))
            except BlockingIOError:
                pass
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--bytes", type=int, default=220, help="size of one token chunk")
    parser.add_argument("--itl", type=float, default=10.0, help="ms between rounds")
    parser.add_argument("--together", action="store_true",
                        help="every socket due at the start of the round (the worst case) "
                             "instead of spread evenly over it (the best case)")
    args = parser.parse_args()
    chunk = b"x" * args.bytes
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    port = listener.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        listener.close()
        reader(port, args.sockets, args.sockets * args.rounds * args.bytes)
    conns = [listener.accept()[0] for _ in range(args.sockets)]
    for c in conns:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    time.sleep(0.3)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    errors: list[float] = []  # per send: when it returned minus when its round was due
    clock = time.monotonic
    in_send = 0.0  # wall time inside send() itself
    itl = args.itl / 1000
    offsets = [0.0] * args.sockets if args.together else [
        k * itl / args.sockets for k in range(args.sockets)]
    for r in range(args.rounds):
        for c, offset in zip(conns, offsets, strict=True):
            due = start + r * itl + offset
            while (t0 := clock()) < due:  # spin: sleeping would add the timer's slack
                pass
            c.send(chunk)
            t1 = clock()
            in_send += t1 - t0
            errors.append(t1 - due)
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - start
    os.waitpid(pid, 0)
    sends = args.sockets * args.rounds
    sys_us = (after.ru_stime - before.ru_stime) / sends * 1e6
    send_us = in_send / sends * 1e6
    rate = args.sockets / (args.itl / 1000)
    print(f"sends: {sends} to {args.sockets} sockets, {args.bytes} B each, "
          f"a round every {args.itl:g} ms ({wall:.2f} s)")
    print(f"one send() takes {send_us:.2f} us of wall time (system CPU per send by rusage: "
          f"{sys_us:.2f} us; rusage splits user/system by sampling, so the former is firmer)")
    print(f"{args.sockets} streams at one token per {args.itl:g} ms = {rate:,.0f} sends/s: "
          f"the sends alone need {rate * send_us / 1e6:.2f} of one core")
    errors.sort()
    mean = sum(errors) / len(errors)
    print(f"pacing error of this zero-overhead sender (send returned - round due): mean "
          f"{mean * 1000:.2f} ms, p50 {errors[len(errors) // 2] * 1000:.2f} ms, p99 "
          f"{errors[int(0.99 * len(errors))] * 1000:.2f} ms, max {errors[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
