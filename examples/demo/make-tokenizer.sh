#!/usr/bin/env bash
# Rebuilds examples/demo/tokenizer.model, the demo's SentencePiece model, from the demo's training text.
# Needs spm_train (Debian/Ubuntu: apt-get install sentencepiece). janus demo itself never runs this:
# the model ships in this directory and inside janus.jar.
#
# The corpus is every line of the training split's system messages, instructions and gold answers
# (ai.janus.demo.TokenizerCorpus, default demo seed and sizes). The model is BPE with 1,024 pieces
# like Mistral's tokenizer in miniature: byte fallback (so a newline, or any unseen character, is a
# byte piece), identity normalisation and no whitespace folding (so answers keep their line breaks),
# digits split, ids unk 0 / <s> 1 / </s> 2 and no pad, as Mistral.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v spm_train >/dev/null || { echo "make-tokenizer: spm_train not found (apt-get install sentencepiece)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root" && ./mvnw -q -B -Dmaven.test.skip=true -pl janus-train -am package)
java -cp "$root/janus-train/target/janus.jar" ai.janus.demo.TokenizerCorpus "$work/corpus.txt"
# relative names: the model file records its input and prefix, and the bytes should not depend on mktemp
(cd "$work" && spm_train --input=corpus.txt --model_prefix=tokenizer --vocab_size=1024 --model_type=bpe \
  --character_coverage=1.0 --byte_fallback=true --normalization_rule_name=identity --remove_extra_whitespaces=false \
  --split_digits=true --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --num_threads=1 --random_seed=1234 \
  --hard_vocab_limit=false --minloglevel=1)
cp "$work/tokenizer.model" "$here/tokenizer.model"
# the corpus's hash, which DemoTokenizerTest compares with today's corpus
(cd "$work" && sha256sum corpus.txt) > "$here/tokenizer.corpus.sha256"
echo "make-tokenizer: wrote $here/tokenizer.model ($(sha256sum "$here/tokenizer.model" | cut -c1-16)...)"
