#!/usr/bin/env bash
# Prepare NVIDIA aiperf to run fully offline against a local mockllm server.
#
#   eval "$(bash benchmarks/aiperf_env.sh)"      # set up (idempotent) + export env
#   "$AIPERF" profile --tokenizer cl100k_base ...  # see docs/aiperf.md
#
# What it does:
#   1. creates a venv at $AIPERF_VENV (default ~/.cache/mockllm/aiperf-venv) if missing;
#   2. pip-installs aiperf==$AIPERF_VERSION (default 0.13.0, the tested version;
#      ~1.2 GB with deps);
#   3. seeds tiktoken's cache in $TIKTOKEN_CACHE_DIR (default
#      $HOME/.cache/mockllm-tiktoken) with cl100k_base and o200k_base, copied from
#      the files mockllm ships (plugins_builtin/vocab/, sha256-checked) under the file
#      name tiktoken looks for (sha1 of the encoding URL), so `--tokenizer cl100k_base`
#      or `o200k_base` never touches the network;
#   4. prints `export ...` lines on stdout (all progress goes to stderr).
#
# Environment knobs: AIPERF_VENV, AIPERF_VERSION (set to "" for latest),
# TIKTOKEN_CACHE_DIR, PYTHON (interpreter used to create the venv, default python3).
set -euo pipefail

AIPERF_VENV="${AIPERF_VENV:-$HOME/.cache/mockllm/aiperf-venv}"
AIPERF_VERSION="${AIPERF_VERSION-0.13.0}"
TIKTOKEN_CACHE_DIR="${TIKTOKEN_CACHE_DIR:-$HOME/.cache/mockllm-tiktoken}"
PYTHON="${PYTHON:-python3}"

log() { printf '[aiperf_env] %s\n' "$*" >&2; }

if [ -n "$AIPERF_VERSION" ]; then
    AIPERF_REQ="aiperf==$AIPERF_VERSION"
else
    AIPERF_REQ="aiperf"
fi

if [ ! -x "$AIPERF_VENV/bin/python" ]; then
    log "creating venv $AIPERF_VENV"
    "$PYTHON" -m venv "$AIPERF_VENV"
fi
VPY="$AIPERF_VENV/bin/python"

# Install only when something is missing (or the pinned version differs).
if ! "$VPY" - "$AIPERF_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
want = sys.argv[1]
have = version("aiperf")
sys.exit(0 if (not want or have == want) else 1)
EOF
then
    log "installing $AIPERF_REQ into $AIPERF_VENV (large download, a few minutes)"
    "$VPY" -m pip install --quiet --disable-pip-version-check "$AIPERF_REQ" >&2
fi

log "seeding tiktoken cache in $TIKTOKEN_CACHE_DIR"
VOCAB_DIR="$(cd "$(dirname "$0")/../plugins_builtin/vocab" && pwd)"
TIKTOKEN_CACHE_DIR="$TIKTOKEN_CACHE_DIR" VOCAB_DIR="$VOCAB_DIR" "$VPY" - >&2 <<'EOF'
import hashlib, os, pathlib, shutil

# tiktoken's published sha256 of each file (tiktoken_ext/openai_public.py).
SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
cache = pathlib.Path(os.environ["TIKTOKEN_CACHE_DIR"])
cache.mkdir(parents=True, exist_ok=True)
for name, digest in SHA256.items():
    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    dst = cache / hashlib.sha1(url.encode()).hexdigest()
    if dst.is_file() and hashlib.sha256(dst.read_bytes()).hexdigest() == digest:
        continue
    src = pathlib.Path(os.environ["VOCAB_DIR"]) / f"{name}.tiktoken"
    if hashlib.sha256(src.read_bytes()).hexdigest() != digest:
        raise SystemExit(f"unexpected sha256 for {src}")
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)

# Self-check with the network forbidden: the encodings must load from the cache.
import socket
def _no_net(*a, **k):
    raise RuntimeError("network access attempted while loading a tiktoken encoding")
socket.socket.connect = _no_net
import tiktoken
assert tiktoken.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
assert tiktoken.get_encoding("o200k_base").encode("hello world") == [24912, 2375]
print(f"[aiperf_env] cl100k_base and o200k_base cached in {cache}")
EOF

VERSION_INSTALLED="$("$VPY" -c 'from importlib.metadata import version; print(version("aiperf"))')"
log "aiperf $VERSION_INSTALLED ready"

cat <<EOF
export AIPERF_VENV='$AIPERF_VENV'
export AIPERF='$AIPERF_VENV/bin/aiperf'
export TIKTOKEN_CACHE_DIR='$TIKTOKEN_CACHE_DIR'
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_DATASETS_OFFLINE=1
EOF
