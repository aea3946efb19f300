"""Talk to a running ``mockllm serve`` through boto3's ``bedrock-runtime`` client.

    pip install boto3                  # what this script needs (the server: README.md here)
    mockllm serve                      # in another terminal (127.0.0.1:8000)
    python examples/clients/bedrock_converse.py [--base-url http://127.0.0.1:8000]

``converse``, ``converse_stream`` (the AWS event stream, parsed by botocore) and a forced
tool call (``toolChoice: any``). The credentials are fake: mockllm checks that requests are
signed, not the signature. The base URL is the server root, boto3's ``endpoint_url``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import boto3

DEFAULT_URL = "http://127.0.0.1:8000"
MODEL = "us.anthropic.claude-sonnet-5-5"  # a cross-Region inference profile id
#: Claude Sonnet 5.5 refuses a forced toolChoice (as on Anthropic's API); Nova takes it.
TOOL_MODEL = "amazon.nova-pro-v1:0"
QUESTION = [{"role": "user", "content": [{"text": "Why is the sky blue?"}]}]
WEATHER = {"toolSpec": {"name": "get_weather", "description": "The weather of a city.",
                        "inputSchema": {"json": {"type": "object",
                                                 "properties": {"city": {"type": "string"}},
                                                 "required": ["city"]}}}}


def main(base_url: str = DEFAULT_URL) -> dict[str, Any]:
    """Run the examples against ``base_url`` and print what comes back."""
    client = boto3.client("bedrock-runtime", endpoint_url=base_url.rstrip("/"),
                          region_name="us-east-1", aws_access_key_id="AKIDMOCK",
                          aws_secret_access_key="mock")
    r = client.converse(modelId=MODEL, messages=QUESTION, inferenceConfig={"maxTokens": 16})
    text = r["output"]["message"]["content"][0]["text"]
    print(f"[converse] {r['ResponseMetadata']['RequestId']}: {text!r} "
          f"(stopReason={r['stopReason']}, usage={r['usage']})")

    deltas: list[str] = []
    usage: dict[str, int] = {}
    stream = client.converse_stream(modelId=MODEL, messages=QUESTION,
                                    inferenceConfig={"maxTokens": 16})
    for event in stream["stream"]:
        if "contentBlockDelta" in event:
            deltas.append(event["contentBlockDelta"]["delta"]["text"])
        elif "metadata" in event:
            usage = event["metadata"]["usage"]
    streamed = "".join(deltas)
    print(f"[converse_stream] {len(deltas)} deltas: {streamed!r} (usage={usage})")

    r = client.converse(modelId=TOOL_MODEL, messages=QUESTION,
                        toolConfig={"tools": [WEATHER], "toolChoice": {"any": {}}})
    use = r["output"]["message"]["content"][0]["toolUse"]
    print(f"[toolUse] {use['name']}({json.dumps(use['input'])}) stopReason={r['stopReason']}")
    client.close()
    return {"text": text, "streamed": streamed, "deltas": len(deltas),
            "output_tokens": usage.get("outputTokens"), "tool": use["name"],
            "input": use["input"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_URL, help="the mockllm server root")
    main(parser.parse_args().base_url)
