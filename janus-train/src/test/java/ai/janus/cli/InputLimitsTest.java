package ai.janus.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.cli.TrainingCommandsTest.Outcome;
import ai.janus.data.TestData;
import ai.janus.io.Json;
import ai.janus.model.MistralConfig;
import ai.janus.model.MistralWeights;
import ai.janus.model.ParameterSet;
import ai.janus.tensor.HostMemory;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input on the command line ends in one line naming the problem: never a wrapped value, never a stack trace. */
class InputLimitsTest {
    @TempDir
    Path dir;

    /** The outcome of a refused command: exit code, one line on stderr, nothing on stdout. */
    static String refused(int code, String... args) {
        Outcome o = TrainingCommandsTest.janus(args);
        assertEquals(code, o.code(), o.out() + o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertFalse(o.err().contains("\tat "), o.err());
        return o.err().strip();
    }

    @Test
    void integerOptionsAreNotWrapped() {
        // (int) 4294967360 is 64: init used to write a hidden-64 model without a word
        Path out = dir.resolve("m");
        String m = refused(2, "init", "--out", out.toString(), "--hidden", "4294967360");
        assertTrue(m.contains("--hidden must be an integer in [1, 2147483647], got 4294967360"), m);
        assertFalse(Files.exists(out));
        // (int) 4294967297 is 1: generate used to stop every answer after one token
        m = refused(2, "generate", "--model", out.toString(), "--prompts", "p.jsonl", "--out", "o.jsonl",
                "--max-new-tokens", "4294967297");
        assertTrue(m.contains("--max-new-tokens must be an integer in [1, 2147483647]"), m);
        assertTrue(refused(2, "generate", "--model", "m", "--prompts", "p", "--out", "o", "--batch", "4294967296")
                .contains("--batch"));
        assertTrue(refused(2, "score", "--model", "m", "--data", "d", "--out", "o", "--max-tokens", "-4294967295")
                .contains("--max-tokens"));
        assertTrue(refused(2, "best-of-n", "--model", "m", "--reward-model", "r", "--prompts", "p", "--out", "o",
                "--n", "4294967298").contains("--n"));
        assertTrue(refused(2, "best-of-n", "--model", "m", "--reward-model", "r", "--prompts", "p", "--out", "o",
                "--n", "2147483647").contains("--n must be an integer in [1, 4096], got 2147483647"));
        assertTrue(refused(2, "init", "--out", out.toString(), "--seed", "99999999999999999999")
                .contains("out of the 64-bit integer range"));
    }

    @Test
    void hugeModelsAreRefusedArithmeticallyBeforeAllocating() {
        // hidden 10^9 overflowed a long in Tensor.allocate (ArithmeticException); 10^6 layers: OutOfMemoryError
        String m = refused(1, "init", "--out", dir.resolve("a").toString(), "--hidden", "1000000000");
        assertTrue(m.contains("needs more than 8 EiB; this machine has"), m);
        m = refused(1, "init", "--out", dir.resolve("b").toString(), "--layers", "1000000");
        assertTrue(m.matches(".*a model of [0-9,]+ parameters \\(1000000 layers, hidden 64\\) in F32 needs [0-9.]+ GiB; "
                + "this machine has [0-9.]+ GiB \\((physical memory|-XX:MaxDirectMemorySize)\\)"), m);
        assertFalse(Files.exists(dir.resolve("b")));
    }

    @Test
    void aConfigWithABillionLayersIsOneLineNotMinutesOfGc() throws IOException {
        Path model = tinyModel("m");
        Path config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\"num_hidden_layers\"\\s*:\\s*1",
                "\"num_hidden_layers\": 1000000000"));
        for (String command : List.of("summary", "generate")) {
            String m = command.equals("summary") ? refused(1, "summary", model.toString())
                    : refused(1, "generate", "--model", model.toString(), "--prompts", prompts().toString(), "--out",
                    dir.resolve("o.jsonl").toString());
            assertTrue(m.contains("config.json: num_hidden_layers 1000000000 cannot be: the safetensors files hold only"),
                    m);
        }
    }

    @Test
    void summaryReadsHeadersOnlySoACheckpointLargerThanMemoryWorksAndLoadingItIsRefused() throws IOException {
        // A sparse BF16 checkpoint whose F32 parameters exceed the memory janus may use: untied
        // embeddings of V × 64 twice, V chosen from the limit. Today's summary allocated it all.
        long limit = HostMemory.limit().bytes();
        org.junit.jupiter.api.Assumptions.assumeTrue(limit < (1L << 40), "memory limit unknown or above 1 TiB");
        int vocab = (int) Math.min(Integer.MAX_VALUE, limit / (2 * 64 * 4) + 1024);
        MistralConfig config = MistralConfig.of(vocab, 64, 64, 1, 4, 2, 16, 10000.0, -1, false);
        Path model = dir.resolve("huge");
        Files.createDirectories(model);
        Files.write(model.resolve("config.json"), Json.write(config.toJson()));
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (ParameterSet.Spec spec : MistralWeights.specs(config)) {
            long bytes = spec.numel() * 2;
            header.put(spec.name(), Map.of("dtype", "BF16", "shape", spec.shape(), "data_offsets", List.of(offset,
                    offset + bytes)));
            offset += bytes;
        }
        byte[] json = Json.MAPPER.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(model.resolve("model.safetensors").toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            f.write(json);
            f.setLength(8 + json.length + offset); // sparse: no disk used
        }
        Outcome o = TrainingCommandsTest.janus("summary", model.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("vocab " + vocab), o.out());
        String m = org.junit.jupiter.api.Assertions.assertThrows(ai.janus.io.InvalidFileException.class,
                () -> ai.janus.model.HfCheckpoint.load(model)).getMessage();
        assertTrue(m.contains("config.json: a model of ") && m.contains("GiB; this machine has "), m);
    }

    @Test
    void aTokenizerPathOfDevZeroOrADirectoryIsOneLine() {
        // Files.readAllBytes(/dev/zero) ran out of heap: OutOfMemoryError
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")));
        String m = refused(1, "init", "--out", dir.resolve("z").toString(), "--tokenizer", "/dev/zero");
        assertTrue(m.contains("/dev/zero: larger than 256 MiB; not a SentencePiece tokenizer model"), m);
        m = refused(1, "init", "--out", dir.resolve("z").toString(), "--tokenizer", dir.toString());
        assertTrue(m.contains("is a directory, not a tokenizer model"), m);
    }

    @Test
    void dataFilesThatAreFifosDevicesOrDirectoriesAreRefusedUpFront() throws Exception {
        // /dev/zero spun forever in the 16 MiB line skipper; a FIFO blocked (and a run read it twice,
        // the second time for the data fingerprint, hanging there); generate --prompts /dev/zero ran out of heap
        Path fifo = dir.resolve("rows.fifo");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero"))
                && new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0);
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30), () -> {
            String m = refused(1, "data", "check", "/dev/zero", "--format", "bench");
            assertTrue(m.contains("/dev/zero: is not a regular file (a FIFO, socket or device)"), m);
            m = refused(1, "data", "check", fifo.toString(), "--format", "bench");
            assertTrue(m.contains("rows.fifo: is not a regular file"), m);
            m = refused(1, "data", "check", dir.toString(), "--format", "bench");
            assertTrue(m.contains(": is a directory, not a JSONL file"), m);
            m = refused(1, "generate", "--model", dir.toString(), "--prompts", "/dev/zero", "--out",
                    dir.resolve("o.jsonl").toString());
            assertTrue(m.contains("/dev/zero: is not a regular file"), m);
            // the run's second read of its datasets, for the fingerprint, refuses the same way
            ai.janus.train.config.RunConfig config = ai.janus.train.config.RunConfig.parse(Path.of("run.yaml"),
                    "base_model: m\ndatasets:\n  - path: " + fifo + "\n    type: sft\nlearning_rate: 1.0e-5\n"
                            + "output_dir: out\n");
            m = org.junit.jupiter.api.Assertions.assertThrows(ai.janus.data.DataException.class,
                    () -> ai.janus.train.objective.RunObjectives.dataFingerprint(config)).getMessage();
            assertTrue(m.contains("rows.fifo: is not a regular file"), m);
        });
    }

    @Test
    void scoreAndGenerateCheckTheTokenizerAgainstTheModelAtLoad() throws IOException {
        // a 1000-row model with the 32000-piece tokenizer failed only in the forward pass, on a token id
        Path model = dir.resolve("v1000");
        assertEquals(0, TrainingCommandsTest.janus("init", "--out", model.toString(), "--hidden", "32", "--layers", "1",
                "--heads", "4", "--kv-heads", "2", "--ffn", "64").code());
        Path data = dir.resolve("sft.jsonl");
        TrainingCommandsTest.writeSftData(data);
        String tokenizer = TestData.mistralTokenizer().toString();
        String m = refused(1, "score", "--model", model.toString(), "--tokenizer", tokenizer, "--data", data.toString(),
                "--out", dir.resolve("s.jsonl").toString());
        assertTrue(m.contains(model.resolve("config.json") + ": vocab_size 1000 disagrees with the 32000 pieces of "
                + tokenizer), m);
        m = refused(1, "generate", "--model", model.toString(), "--tokenizer", tokenizer, "--prompts",
                prompts().toString(), "--out", dir.resolve("o.jsonl").toString());
        assertTrue(m.contains("config.json: vocab_size 1000 disagrees with the 32000 pieces of " + tokenizer), m);
    }

    @Test
    void aNaNScoreIsJsonNullAndOneWarningLine() throws IOException {
        // Jackson wrote a NaN log-prob as the string "NaN"
        Path model = tinyModel("nan");
        try (ai.janus.model.HfCheckpoint.Loaded m = ai.janus.model.HfCheckpoint.load(model)) {
            m.parameters().get(MistralWeights.FINAL_NORM).floats().put(0, Float.NaN);
            ai.janus.model.HfCheckpoint.save(model, m.config(), m.parameters(), ai.janus.tensor.DType.F32,
                    ai.janus.model.HfCheckpoint.DEFAULT_MAX_SHARD_BYTES);
        }
        Path data = dir.resolve("sft.jsonl"), out = dir.resolve("scores.jsonl");
        TrainingCommandsTest.writeSftData(data);
        Outcome o = TrainingCommandsTest.janus("score", "--model", model.toString(), "--data", data.toString(), "--out",
                out.toString());
        assertEquals(0, o.code(), o.err());
        String scores = Files.readString(out);
        assertFalse(scores.contains("NaN"), scores);
        assertTrue(scores.lines().allMatch(l -> l.contains("\"sum_logprob\":null,\"mean_logprob\":null")), scores);
        List<String> warnings = o.err().lines().filter(l -> l.startsWith("warning:")).toList();
        assertEquals(1, warnings.size(), o.err());
        assertTrue(warnings.get(0).contains("12 row(s) scored NaN or infinity, written as null: line(s) 1, 2"),
                warnings.get(0));
    }

    @Test
    void aConfigJsonThatIsDevZeroOrADirectoryIsOneLine() throws IOException {
        // Json.read used Files.readAllBytes: /dev/zero ran out of heap
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")));
        Path model = tinyModel("z");
        Files.delete(model.resolve("config.json"));
        Files.createSymbolicLink(model.resolve("config.json"), Path.of("/dev/zero"));
        String m = refused(1, "summary", model.toString());
        assertTrue(m.contains("config.json: larger than 64 MiB; not a config or index JSON file"), m);
        Files.delete(model.resolve("config.json"));
        Files.createDirectory(model.resolve("config.json"));
        assertTrue(refused(1, "summary", model.toString()).contains("config.json: is a directory, not a JSON file"));
    }

    @Test
    void theLineLimitFitsAJavaArray() throws IOException {
        Path data = dir.resolve("sft.jsonl");
        TrainingCommandsTest.writeSftData(data);
        String m = refused(2, "data", "check", data.toString(), "--format", "sft", "--tokenizer",
                TestData.mistralTokenizer().toString(), "--max-line-bytes", "9223372036854775807");
        assertTrue(m.contains("the line limit must be in [1, 2147483639] bytes, got 9223372036854775807"), m);
    }

    @Test
    void outputPathsThatCannotBeOutputFilesAreRefusedBeforeTheWork() throws Exception {
        // the atomic rename replaced an existing FIFO or device (as root, /dev/full) with a plain file;
        // a missing directory or an existing file as init's --out was a bare path with no problem named
        Path model = tinyModel("m"), fifo = dir.resolve("out.fifo"), file = Files.writeString(dir.resolve("f"), "x");
        org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0);
        String m = refused(1, "generate", "--model", model.toString(), "--prompts", prompts().toString(), "--out",
                fifo.toString(), "--max-new-tokens", "2");
        assertTrue(m.contains("out.fifo: exists and is not a regular file (a FIFO or device)"), m);
        assertFalse(Files.isRegularFile(fifo), "the FIFO is still a FIFO");
        m = refused(1, "score", "--model", model.toString(), "--data", prompts().toString(), "--out",
                dir.resolve("nowhere/s.jsonl").toString());
        assertTrue(m.contains("nowhere/s.jsonl: cannot write: ") && m.contains("nowhere is not a directory"), m);
        assertTrue(refused(1, "generate", "--model", model.toString(), "--prompts", prompts().toString(), "--out",
                dir.toString()).contains(": is a directory; name an output file"));
        assertTrue(refused(1, "init", "--out", file.toString()).contains("f: exists and is not a directory"));
    }

    @Test
    void aPromptLineOverTheLineLimitIsAnErrorNotAFullHeap() throws IOException {
        // readAllLines held the whole file: one 300 MiB line filled a small heap (OutOfMemoryError)
        Path model = tinyModel("m"), prompts = dir.resolve("big.jsonl");
        try (var out = Files.newBufferedWriter(prompts)) {
            out.write("{\"prompt\": \"");
            char[] a = new char[1 << 20];
            java.util.Arrays.fill(a, 'a');
            for (int i = 0; i < 17; i++) {
                out.write(a);
            }
            out.write("\"}\n");
        }
        String m = refused(1, "generate", "--model", model.toString(), "--prompts", prompts.toString(), "--out",
                dir.resolve("o.jsonl").toString());
        assertTrue(m.contains("big.jsonl:1: line of 17,825,806 bytes is longer than the limit of 16,777,216 bytes"), m);
        Files.writeString(prompts, "{\"prompt\": 3}\n");
        assertTrue(refused(1, "generate", "--model", model.toString(), "--prompts", prompts.toString(), "--out",
                dir.resolve("o.jsonl").toString()).contains("big.jsonl: line 1: expected an object with a string"));
    }

    @Test
    void aKvCacheLargerThanMemoryIsRefusedBeforeAllocating() throws IOException {
        // max_position_embeddings 2^31 - 1 lets --max-new-tokens ask for a 256 GiB cache
        org.junit.jupiter.api.Assumptions.assumeTrue(HostMemory.limit().bytes() < (200L << 30));
        Path model = tinyModel("kv"), config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\"max_position_embeddings\"\\s*:\\s*\\d+",
                "\"max_position_embeddings\": 2147483647"));
        String m = refused(1, "generate", "--model", model.toString(), "--prompts", prompts().toString(), "--out",
                dir.resolve("o.jsonl").toString(), "--max-new-tokens", "2147483600");
        assertTrue(m.matches(".*a KV cache of 1 sequences × 2147483609 positions × 1 layers needs 256.0 GiB; this machine"
                + " has .*"), m);
    }

    private Path tinyModel(String name) {
        Path model = dir.resolve(name);
        assertEquals(0, TrainingCommandsTest.janus("init", "--out", model.toString(), "--tokenizer",
                TestData.mistralTokenizer().toString(), "--hidden", "32", "--layers", "1", "--heads", "4", "--kv-heads",
                "2", "--ffn", "64").code());
        return model;
    }

    private Path prompts() throws IOException {
        Path p = dir.resolve("prompts.jsonl");
        Files.writeString(p, "{\"prompt\": \"hi\"}\n");
        return p;
    }
}
