"""The ``service_tier`` an OpenAI answer reports.

The API reports the tier that served the request: the one asked for when it is a real tier
(``flex``, ``priority``, ``scale``), ``default`` for ``auto``, ``default`` or none. A mock
serves every tier alike, so it reports the asked-for one back.
"""

from __future__ import annotations

_SERVED = frozenset({"default", "flex", "priority", "scale"})


def served_tier(asked: str | None) -> str:
    return asked if asked is not None and asked in _SERVED else "default"
