"""Where the shared state keeps what, in its store (one Redis database per mock fleet)."""

#: Hash: rule key digest -> uses (sequences, ``times``, ``{counter}``).
COUNTS = b"mockllm:counts"
#: List of msgpack journal entries, oldest first, trimmed to ``server.journal_size``.
JOURNAL = b"mockllm:journal"
#: List of ``AddRules`` changes since the last ``ClearRules``, oldest first.
RULES = b"mockllm:rules"
#: Hash: ``KIND\0KEY`` -> plugin of a runtime switch.
SWITCHES = b"mockllm:switches"
#: Counter of the changes written above; a message carries the value of its own.
VERSION = b"mockllm:version"
#: Pub/sub channel of changes; each process also listens on ``mockllm:ack:<its id>``.
CHANGES = b"mockllm:changes"


def gather_key(name: str, read: str) -> bytes:
    """Hash of one read's snapshots of ``name``, one field per process (``State.gather``)."""
    return f"mockllm:gather:{name}:{read}".encode()


def store_prefix(name: str) -> bytes:
    """Prefix of the values of the stored-object store ``name`` (``mockllm:store:NAME:ID``)."""
    return f"mockllm:store:{name}:".encode()


def store_order(name: str) -> bytes:
    """List of that store's ``SIZE ID`` elements, oldest first (what is dropped past its
    size or its bytes; SIZE is what the value counts in :func:`store_bytes`)."""
    return f"mockllm:order:{name}".encode()


def store_bytes(name: str) -> bytes:
    """Counter of the bytes that store's order list accounts for (``store_bytes``)."""
    return f"mockllm:bytes:{name}".encode()


#: List of the journal's request bodies (each cut at 4 KiB), one per entry of
#: :data:`JOURNAL` from its newest back: the oldest entries have none once the bodies pass
#: ``server.memory.journal_body_bytes`` (mockllm.state.bodies).
JOURNAL_BODIES = b"mockllm:journal:bodies"
#: Counter of the bytes in :data:`JOURNAL_BODIES`.
JOURNAL_BYTES = b"mockllm:journal:bytes"
