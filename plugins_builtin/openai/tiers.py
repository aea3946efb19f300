"""The ``service_tier`` an OpenAI answer reports.

The API reports the tier that served the request: the one asked for when it is a real tier
(``flex``, ``priority``, ``scale``), ``priority`` for ``fast`` (fast mode is served by the
priority tier, as the SDK documents), and ``default`` for ``auto``, ``default`` or none. A
mock serves every tier alike, so it reports the asked-for one back.
"""

from __future__ import annotations

_SERVED = {"default": "default", "flex": "flex", "priority": "priority", "scale": "scale",
           "fast": "priority"}


def served_tier(asked: str | None) -> str:
    return _SERVED.get(asked or "auto", "default")
