#!/usr/bin/env bash
# Builds and runs the host-emulated kernel tests (no GPU needed): native/test/run.sh [CASE_INDEX]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cuda="${CUDA_HOME:-/usr/local/cuda}"
out="${TMPDIR:-/tmp}/janus_attention_test"
g++ -std=c++20 -O2 -ffp-contract=off -pthread -I"$cuda/include" -I"$here/.." -o "$out" "$here/attention_test.cpp"
"$out" "$@"
