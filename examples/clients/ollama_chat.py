"""Talk to a running ``mockllm serve`` through the official ``ollama`` Python client.

    pip install ollama                 # what this script needs (the server: README.md here)
    mockllm serve                      # in another terminal (127.0.0.1:8000)
    python examples/clients/ollama_chat.py [--base-url http://127.0.0.1:8000]

``chat`` whole and streamed (NDJSON), ``generate``, ``embed`` and ``list``. The client's
``host`` is the server root (Ollama's own default is http://127.0.0.1:11434).
"""

from __future__ import annotations

import argparse
from typing import Any

import ollama

DEFAULT_URL = "http://127.0.0.1:8000"
MODEL = "llama3.2"
QUESTION = [{"role": "user", "content": "Why is the sky blue?"}]


def main(base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """Run the examples against ``base_url`` and print what comes back."""
    with ollama.Client(host=base_url.rstrip("/"), timeout=30) as client:
        # num_predict is Ollama's max_tokens.
        whole = client.chat(model=MODEL, messages=QUESTION, options={"num_predict": 16})
        text = whole.message.content or ""
        print(f"[chat] {whole.model}: {text!r} (done_reason={whole.done_reason}, "
              f"eval_count={whole.eval_count}, total_duration={whole.total_duration} ns)")

        pieces: list[str] = []
        last = None
        for part in client.chat(model=MODEL, messages=QUESTION, options={"num_predict": 16},
                                stream=True):
            if part.message.content:
                pieces.append(part.message.content)
            last = part
        streamed = "".join(pieces)
        assert last is not None and last.done
        print(f"[chat stream] {len(pieces)} objects: {streamed!r} "
              f"(eval_count={last.eval_count})")

        gen = client.generate(model=MODEL, prompt="Say something.", options={"num_predict": 8})
        print(f"[generate] {gen.response!r}")

        emb = client.embed(model="nomic-embed-text", input=["hello world", "goodbye"])
        print(f"[embed] {len(emb.embeddings)} vectors of {len(emb.embeddings[0])}")

        models = [m.model for m in client.list().models]
        print(f"[list] {models}")
    return {"text": text, "streamed": streamed, "objects": len(pieces),
            "eval_count": last.eval_count, "generated": gen.response,
            "embeddings": len(emb.embeddings), "models": models}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_URL, help="the mockllm server root")
    main(parser.parse_args().base_url)
