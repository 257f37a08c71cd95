#!/usr/bin/env bash
# Builds and runs the host-emulated kernel tests (no GPU needed): native/test/run.sh [ATTENTION_CASE_INDEX]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cuda="${CUDA_HOME:-/usr/local/cuda}"
tmp="${TMPDIR:-/tmp}"
flags=(-std=c++20 -O2 -ffp-contract=off -pthread -I"$cuda/include" -I"$here/..")
g++ "${flags[@]}" -o "$tmp/janus_kernels_test" "$here/kernels_test.cpp"
g++ "${flags[@]}" -o "$tmp/janus_attention_test" "$here/attention_test.cpp"
"$tmp/janus_kernels_test"
"$tmp/janus_attention_test" "$@"
