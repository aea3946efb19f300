"""Rerank passages with a running ``mockllm serve``'s NVIDIA NIM ``/v1/ranking``.

    pip install httpx                  # what this script needs (the server: README.md here)
    mockllm serve                      # in another terminal (127.0.0.1:8000)
    python examples/clients/nim_rankings.py [--base-url http://127.0.0.1:8000]

NIM has no official Python SDK for reranking, so this posts the JSON with httpx, as
``curl`` would. The answer lists every passage by index, best first, with a logit.
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
MODEL = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
QUERY = "What is the memory bandwidth of the H100 GPU?"
PASSAGES = [
    "Bananas grow on tall plants in warm climates.",
    "The H100 GPU has a memory bandwidth of about 3 TB/s.",
    "Memory is the faculty of the mind that stores information.",
]


def main(base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """Rank ``PASSAGES`` against ``QUERY`` and print them best first."""
    body = {"model": MODEL, "query": {"text": QUERY},
            "passages": [{"text": p} for p in PASSAGES], "truncate": "END"}
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=30) as client:
        # A real NIM behind NVIDIA's API catalog wants Authorization: Bearer $NVIDIA_API_KEY;
        # mockllm checks it only when server.api_keys is set.
        r = client.post("/v1/ranking", json=body, headers={"authorization": "Bearer nvapi-mock"})
        r.raise_for_status()
        out = r.json()
    print(f"[ranking] query: {QUERY!r}")
    for rank in out["rankings"]:
        print(f"  logit {rank['logit']:8.4f}  #{rank['index']}  {PASSAGES[rank['index']]}")
    print(f"[usage] {out['usage']}")
    return out  # type: ignore[no-any-return]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_URL, help="the mockllm server root")
    main(parser.parse_args().base_url)
