"""``mockllm record``: a proxy to a real OpenAI- or Anthropic-compatible server that writes
what it saw as mockllm rules (``capture`` reads answers, ``rules`` writes the config,
``proxy`` passes traffic through). Replay is ``mockllm serve --config rules.yaml``."""
