#!/usr/bin/env bash
# Builds the portable bundle for GPU nodes without a JDK:
#   dist/janus-<version>-linux-x86_64.tar.xz = runtime/ (a jlink'd Java runtime with java.base,
#   jdk.unsupported, java.logging, java.management, jdk.incubator.vector) + lib/janus.jar + bin/janus
#   (the launcher that finds libcuda, cuBLASLt and NCCL and sets LD_LIBRARY_PATH).
# Then checks it: with no JDK on PATH, bin/janus --help and a one-step CPU training run must work,
# and the archive must stay under 60 MiB. Needs a JDK 17+ (for jlink) here, not on the GPU node.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
version=$(awk '/<artifactId>janus-parent<\/artifactId>/ {found=1} found && /<version>/ {gsub(/.*<version>|<\/version>.*/, ""); print; exit}' pom.xml)
name="janus-$version-linux-x86_64"
jlink_cmd="${JAVA_HOME:+$JAVA_HOME/bin/}jlink"

echo "bundle: building janus.jar" >&2
# -Dmaven.test.skip=true: no test is compiled; janus-train declares janus-core's test-jar only when
# tests are built (a profile in its pom), so this works with no ai.janus artifact installed. nvcc's
# register report is printed only with JANUS_VERBOSE=1 (native/build.sh).
./mvnw -q -B -Dmaven.test.skip=true -pl janus-train -am package
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/bin" "$stage/lib" dist
echo "bundle: jlink runtime" >&2
"$jlink_cmd" --add-modules java.base,jdk.unsupported,java.logging,java.management,jdk.incubator.vector \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$stage/runtime"
cp janus-train/target/janus.jar "$stage/lib/janus.jar"
cp tools/bundle/janus "$stage/bin/janus"
chmod +x "$stage/bin/janus"
cat > "$stage/README.txt" <<TXT
janus $version for linux-x86_64: bin/janus runs the bundled Java runtime (no JDK needed) on
lib/janus.jar, with the NVIDIA driver, cuBLASLt and NCCL libraries it finds on LD_LIBRARY_PATH.
  bin/janus --help
TXT

echo "bundle: checking it with no JDK on PATH" >&2
check="$work/check"
mkdir -p "$check"
env -i PATH=/usr/bin:/bin HOME="$check" "$stage/bin/janus" --help > "$check/help.txt" 2>/dev/null
grep -q "usage: janus" "$check/help.txt"
tokenizer="$root/janus-train/src/test/resources/fixtures/sentencepiece/mistral-tokenizer-v1.model"
if [[ -f "$tokenizer" ]]; then
  env -i PATH=/usr/bin:/bin HOME="$check" "$stage/bin/janus" init --out "$check/base" --tokenizer "$tokenizer" \
    --hidden 32 --layers 1 --heads 4 --kv-heads 2 --ffn 64 > /dev/null 2>&1
  printf '{"system": "Be brief.", "prompt": "What is 1 plus 1?", "output": "It is 2."}\n' > "$check/sft.jsonl"
  printf 'base_model: %s\ndatasets:\n  - path: %s\n    type: sft\nsequence_len: 64\nmax_steps: 1\nlearning_rate: 1.0e-3\noutput_dir: %s\n' \
    "$check/base" "$check/sft.jsonl" "$check/run" > "$check/sft.yaml"
  env -i PATH=/usr/bin:/bin HOME="$check" "$stage/bin/janus" sft "$check/sft.yaml" 2> "$check/sft.log"
  grep -q "step 1/1" "$check/sft.log"
  echo "bundle: janus --help and a CPU training step ran from the bundle" >&2
else
  echo "bundle: the test tokenizer is missing; checked janus --help only" >&2
fi

echo "bundle: compressing" >&2
tar -C "$work" -cJf "dist/$name.tar.xz" "$name"
size=$(stat -c %s "dist/$name.tar.xz")
echo "bundle: dist/$name.tar.xz, $((size / 1048576)) MiB" >&2
if (( size > 60 * 1048576 )); then
  echo "bundle: larger than 60 MiB" >&2
  exit 1
fi
