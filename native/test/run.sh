#!/usr/bin/env bash
# Builds and runs the host-emulated kernel tests (no GPU needed): native/test/run.sh [ATTENTION_CASE_INDEX]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cuda="${CUDA_HOME:-/usr/local/cuda}"
if ! command -v g++ >/dev/null || [[ ! -f "$cuda/include/cuda_bf16.h" ]]; then
  # The emulated tests need g++ 11+ and the CUDA headers; a CPU-only machine skips them (CI requires them).
  if [[ "${JANUS_REQUIRE_NATIVE:-0}" == 1 ]]; then
    echo "error: the emulated kernel tests need g++ and $cuda/include (JANUS_REQUIRE_NATIVE=1)" >&2
    exit 1
  fi
  echo "warning: emulated kernel tests skipped: need g++ and the CUDA headers in $cuda/include" >&2
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
flags=(-std=c++20 -O2 -ffp-contract=off -pthread -I"$cuda/include" -I"$here/..")
g++ "${flags[@]}" -o "$tmp/janus_kernels_test" "$here/kernels_test.cpp"
g++ "${flags[@]}" -o "$tmp/janus_attention_test" "$here/attention_test.cpp"
"$tmp/janus_kernels_test"
"$tmp/janus_attention_test" "$@"
