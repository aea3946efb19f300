"""Talk to a running ``mockllm serve`` through the official ``anthropic`` SDK.

    pip install anthropic              # what this script needs (the server: README.md here)
    mockllm serve                      # in another terminal (127.0.0.1:8000)
    python examples/clients/anthropic_messages.py [--base-url http://127.0.0.1:8000]

``messages.create``, the ``messages.stream`` helper (text as it arrives, then the final
message), ``count_tokens`` and the model list. The base URL is the server root: the SDK adds
``/v1/messages`` itself.
"""

from __future__ import annotations

import argparse
from typing import Any

import anthropic

DEFAULT_URL = "http://127.0.0.1:8000"
MODEL = "claude-sonnet-5-5"
QUESTION: list[anthropic.types.MessageParam] = [
    {"role": "user", "content": "Why is the sky blue?"},
]


def main(base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """Run the examples against ``base_url`` and print what comes back."""
    with anthropic.Anthropic(base_url=base_url.rstrip("/"), api_key="sk-ant-mock",
                             timeout=30) as client:
        msg = client.messages.create(model=MODEL, max_tokens=16, messages=QUESTION)
        block = msg.content[0]
        text = block.text if block.type == "text" else ""
        print(f"[create] {msg.id} {msg.model}: {text!r} "
              f"(stop_reason={msg.stop_reason}, usage=in {msg.usage.input_tokens} / "
              f"out {msg.usage.output_tokens})")

        pieces: list[str] = []
        with client.messages.stream(model=MODEL, max_tokens=16, messages=QUESTION) as stream:
            for piece in stream.text_stream:
                pieces.append(piece)
            final = stream.get_final_message()
        streamed = "".join(pieces)
        print(f"[stream] {len(pieces)} text deltas: {streamed!r} "
              f"(stop_reason={final.stop_reason}, output_tokens={final.usage.output_tokens})")

        count = client.messages.count_tokens(model=MODEL, messages=QUESTION)
        print(f"[count_tokens] {count.input_tokens} input tokens")

        models = [m.id for m in client.models.list()]
        print(f"[models] {models}")
    return {"text": text, "streamed": streamed, "deltas": len(pieces),
            "output_tokens": final.usage.output_tokens, "input_tokens": count.input_tokens,
            "models": models}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_URL, help="the mockllm server root")
    main(parser.parse_args().base_url)
