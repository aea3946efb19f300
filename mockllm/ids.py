"""Random ids for answers (``chatcmpl-…``, ``msg_…``, request ids).

They need to be unique, not unguessable, and they are made several times per request: on
this platform ``os.urandom`` (and so ``uuid4``) is a system call that cost a fifth of a chat
answer. A Mersenne Twister seeded once from the OS is enough.
"""

from __future__ import annotations

import random

_rng = random.Random()  # seeded from os.urandom once, at import
_bits = _rng.getrandbits


def random_int(bits: int) -> int:
    return _bits(bits)


def random_hex(n_bytes: int) -> str:
    """``2 * n_bytes`` lower-case hex digits."""
    return _bits(n_bytes * 8).to_bytes(n_bytes, "big").hex()
