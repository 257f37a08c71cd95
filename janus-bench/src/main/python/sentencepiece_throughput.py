"""The reference SentencePiece encoding the same kind of text as ai.janus.bench.DataThroughput.

Debian 12: apt-get install -y python3-sentencepiece; from the repository root:
    /usr/bin/python3 janus-bench/src/main/python/sentencepiece_throughput.py 5000 [janus-train/src/test/resources/fixtures/sentencepiece/mistral-tokenizer-v1.model]
Generates rows with the same word list and lengths as DataThroughput (its own random stream, so
not the same bytes) and times sp.encode on each row's prompt text and answer: median of 4 runs.
"""
import random
import sys
import time

import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[2] if len(sys.argv) > 2 else 'janus-train/src/test/resources/fixtures/sentencepiece/mistral-tokenizer-v1.model')
WORDS = ("the a of to and in is you that it for are as with be on this your by not or an"
 " preference style concise expert background knowledge informative harmless response answer explain détaillé"
 " naïve café 😀 user assistant example code function return value system message dimension").split(" ")
rng = random.Random(1)
def words(mean):
    n = mean // 2 + rng.randrange(mean)
    out = []
    for i in range(n):
        if i > 0: out.append("\n" if rng.randrange(40) == 0 else " ")
        out.append(rng.choice(WORDS))
        if rng.randrange(60) == 0: out.append(". `x = f(y) + 1;`")
    return "".join(out)
rows = int(sys.argv[1])
texts = []
for i in range(rows):
    s, p, o = words(120), words(80), words(350)
    texts.append("[INST] " + s + "\n" + p + " [/INST]"); texts.append(o)
times = []
for r in range(4):
    t = time.perf_counter(); n = sum(len(sp.encode(x)) for x in texts); times.append(time.perf_counter() - t)
times.sort()
print(f"python3-sentencepiece {spm.__version__}: {rows} rows, {n} tokens, median {times[len(times)//2]:.3f} s, {rows/times[len(times)//2]:.0f} rows/s, {n/times[len(times)//2]:.0f} tokens/s")
