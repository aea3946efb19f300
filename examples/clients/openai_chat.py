"""Chat with a running ``mockllm serve`` through the official ``openai`` SDK.

    pip install openai                 # what this script needs (the server: README.md here)
    mockllm serve                      # in another terminal (127.0.0.1:8000)
    python examples/clients/openai_chat.py [--base-url http://127.0.0.1:8000]

One answer whole, then the same question streamed (with usage in the last chunk), then one
embedding. On the embedded default config the text is generated: deterministic words of
exactly ``max_tokens`` tokens.
"""

from __future__ import annotations

import argparse
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

DEFAULT_URL = "http://127.0.0.1:8000"
MODEL = "gpt-4o-mini"
QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Why is the sky blue?"},
]


def main(base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """Run the examples against ``base_url`` (the server root) and print what comes back."""
    # mockllm checks no key unless server.api_keys is set; the SDK needs one anyway.
    with openai.OpenAI(base_url=base_url.rstrip("/") + "/v1", api_key="sk-mock",
                       timeout=30) as client:
        whole = client.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=16)
        text = whole.choices[0].message.content or ""
        assert whole.usage is not None
        print(f"[create] {whole.model}: {text!r} (finish_reason="
              f"{whole.choices[0].finish_reason}, usage=in {whole.usage.prompt_tokens} / "
              f"out {whole.usage.completion_tokens})")

        pieces: list[str] = []
        usage = None
        stream = client.chat.completions.create(
            model=MODEL, messages=QUESTION, max_tokens=16,
            stream=True, stream_options={"include_usage": True},
        )
        with stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                if chunk.usage is not None:
                    usage = chunk.usage
        streamed = "".join(pieces)
        assert usage is not None  # include_usage: the last chunk carries it
        print(f"[stream] {len(pieces)} chunks: {streamed!r} "
              f"(completion_tokens={usage.completion_tokens})")

        emb = client.embeddings.create(model="text-embedding-3-small", input="hello world")
        vector = emb.data[0].embedding
        print(f"[embeddings] {len(vector)} dimensions, first {vector[:3]}")
    return {"text": text, "streamed": streamed, "chunks": len(pieces),
            "completion_tokens": usage.completion_tokens,
            "dimensions": len(vector)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_URL, help="the mockllm server root")
    main(parser.parse_args().base_url)
