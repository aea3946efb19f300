#!/usr/bin/env bash
# aiperf against a running `mockllm serve` (embedded default config): chat, completions,
# embeddings, Anthropic messages and NIM rankings. Fails unless every profile has 0 errors
# and, where there is an output length, exactly the requested --osl. The embedded default
# stops on its own (a natural length), so the profiles with an OSL send vLLM's ignore_eos.
#
#   mockllm serve &                      # 127.0.0.1:8000
#   bash benchmarks/aiperf_smoke.sh [URL]
#
# aiperf itself comes from benchmarks/aiperf_env.sh (its own venv, tiktoken cache seeded,
# offline). Needs no network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
url="${1:-http://127.0.0.1:8000}"
eval "$(bash "$here/aiperf_env.sh")"
out="${AIPERF_ARTIFACTS:-$(mktemp -d)}"
common=(--tokenizer cl100k_base --url "$url" --ui-type none --no-gpu-telemetry
        --concurrency 4 --request-count "${AIPERF_REQUESTS:-40}")
run() {  # name, model, extra args...
  local name=$1 model=$2; shift 2
  "$AIPERF" profile --model "$model" "${common[@]}" "$@" --artifact-dir "$out/$name" >/dev/null
}
exact=(--extra-inputs ignore_eos:true)
run chat gpt-4o-mini --endpoint-type chat --streaming --use-server-token-count --isl 100 --osl 50 \
  "${exact[@]}"
run completions gpt-4o-mini --endpoint-type completions --streaming --use-server-token-count \
  --isl 100 --osl 50 "${exact[@]}"
run embeddings text-embedding-3-small --endpoint-type embeddings --isl 64
run messages claude-sonnet-5-5 --endpoint-type messages --streaming --use-server-token-count \
  --isl 100 --osl 50 "${exact[@]}"
run rankings nvidia/llama-3.2-nv-rerankqa-1b-v2 --endpoint-type nim_rankings
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path

failed = False
for name, osl in (("chat", 50), ("completions", 50), ("embeddings", None),
                  ("messages", 50), ("rankings", None)):
    data = json.loads(next(Path(sys.argv[1], name).rglob("profile_export_aiperf.json"))
                      .read_text())
    errors = (data.get("error_request_count") or {}).get("avg", 0)  # absent on a clean run
    done = data["request_count"]["avg"]
    got = data.get("output_sequence_length", {})
    ok = errors == 0 and (osl is None or (got.get("min") == osl and got.get("max") == osl))
    failed |= not ok
    print(f"{name:12s} requests={done:.0f} errors={errors:.0f} "
          f"osl={got.get('avg', '-')} {'ok' if ok else 'FAILED'}")
sys.exit(1 if failed else 0)
PY
