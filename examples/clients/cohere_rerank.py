"""Rerank documents with a running ``mockllm serve`` through the cohere SDK (v2 and v1).

    pip install cohere                 # what this script needs (the server: README.md here)
    mockllm serve                      # in another terminal (127.0.0.1:8000)
    python examples/clients/cohere_rerank.py [--base-url http://127.0.0.1:8000]

``cohere.ClientV2`` posts to ``/v2/rerank`` and ``cohere.Client`` to ``/v1/rerank``; both
answer every document by index, best first, with a relevance score in [0, 1]
(docs/rerank.md).
"""

from __future__ import annotations

import argparse
from typing import Any

import cohere

DEFAULT_URL = "http://127.0.0.1:8000"
MODEL = "rerank-v3.5"
QUERY = "What is the capital of the United States?"
DOCUMENTS = [
    "Carson City is the capital city of the American state of Nevada.",
    "Washington, D.C. is the capital of the United States. It is a federal district.",
    "Bananas grow on tall plants in warm climates.",
]


def main(base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """Rerank ``DOCUMENTS`` against ``QUERY`` through both clients and print them."""
    base = base_url.rstrip("/")
    # A real key goes here for Cohere; mockllm checks it only when server.api_keys is set.
    with cohere.ClientV2(base_url=base, api_key="co-mock") as v2:
        ranked = v2.rerank(model=MODEL, query=QUERY, documents=DOCUMENTS, top_n=2)
    print(f"[v2] query: {QUERY!r}")
    for r in ranked.results:
        print(f"  {r.relevance_score:.4f}  #{r.index}  {DOCUMENTS[r.index]}")
    units = ranked.meta.billed_units.search_units if ranked.meta and ranked.meta.billed_units \
        else None
    print(f"[v2] search units: {units}")
    with cohere.Client(base_url=base, api_key="co-mock") as v1:
        with_docs = v1.rerank(model=MODEL, query=QUERY, return_documents=True, documents=[
            {"text": d, "id": str(i)} for i, d in enumerate(DOCUMENTS)])
    best = with_docs.results[0].document
    print(f"[v1] best: {best.text if best else None!r}")
    return {"v2": [(r.index, r.relevance_score) for r in ranked.results],
            "v1": [r.index for r in with_docs.results], "search_units": units,
            "best": best.text if best else None}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_URL, help="the mockllm server root")
    main(parser.parse_args().base_url)
