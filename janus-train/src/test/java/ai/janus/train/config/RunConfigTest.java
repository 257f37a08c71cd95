package ai.janus.train.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.io.InvalidFileException;
import ai.janus.train.dist.OptimizerKind;
import ai.janus.train.dist.StrategyKind;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RunConfigTest {
    private static final Path FILE = Path.of("run.yaml");
    private static final String MINIMAL = """
            base_model: runs/base
            datasets:
              - path: data/sft.jsonl
                type: sft
            learning_rate: 5.0e-6
            output_dir: runs/sft
            """;

    private static String refused(String yaml) {
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> RunConfig.parse(FILE, yaml));
        assertTrue(e.getMessage().startsWith("run.yaml: "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line");
        return e.getMessage();
    }

    @Test
    void defaultsFillWhatIsNotSaid() throws InvalidFileException {
        RunConfig c = RunConfig.parse(FILE, MINIMAL);
        assertEquals(Path.of("runs/base/tokenizer.model"), c.tokenizer());
        assertEquals(2048, c.sequenceLen());
        assertEquals(OptimizerKind.ADAMW, c.optimizer());
        assertEquals(RunConfig.Scheduler.COSINE, c.lrScheduler());
        assertEquals(1.0, c.maxGradNorm());
        assertEquals(1, c.savesPerEpoch());
        assertEquals(RunConfig.UNSET, c.maxSteps());
        assertEquals(0.1, c.dpoBeta());
        assertEquals(0.0, c.rpoAlpha()); // plain DPO unless rpo_alpha is set
    }

    @Test
    void rpoAlphaIsReadAndRefusedBelowZero() throws InvalidFileException {
        RunConfig c = RunConfig.parse(FILE, MINIMAL + "rpo_alpha: 0.5\n");
        assertEquals(0.5, c.rpoAlpha());
        assertEquals(c, RunConfig.parse(FILE, c.toYaml()));
        assertTrue(refused(MINIMAL + "rpo_alpha: -1\n").contains("'rpo_alpha' must be a number >= 0"));
    }

    @Test
    void theResolvedYamlReadsBackToTheSameConfig() throws InvalidFileException {
        RunConfig c = RunConfig.parse(FILE, MINIMAL + "optimizer: adamw_bnb_8bit\nwarmup_ratio: 0.03\nsave_steps: 50\n");
        RunConfig again = RunConfig.parse(FILE, c.toYaml());
        assertEquals(c, again);
        assertEquals(OptimizerKind.ADAMW_8BIT, again.optimizer());
        assertEquals(0, again.savesPerEpoch());
    }

    @Test
    void unknownKeysAreErrorsNamingKeyAndLine() {
        String m = refused(MINIMAL + "learning_rat: 1.0\n");
        assertTrue(m.contains("line 7: unknown key 'learning_rat'"), m);
        assertTrue(refused(MINIMAL.replace("type: sft", "type: sft\n    split: train")).contains("unknown key 'split'"));
    }

    @Test
    void badValuesAreErrorsNamingTheKey() {
        assertTrue(refused(MINIMAL + "micro_batch_size: 0\n").contains("'micro_batch_size' must be an integer in [1, 2147483647], found 0"));
        assertTrue(refused(MINIMAL + "sample_packing: yes please\n").contains("'sample_packing' must be true or false"));
        assertTrue(refused(MINIMAL + "optimizer: sgd\n").contains("optimizer must be adamw or adamw_8bit"));
        assertTrue(refused(MINIMAL + "warmup_steps: 10\nwarmup_ratio: 0.1\n").contains("not both"));
        assertTrue(refused(MINIMAL.replace("learning_rate: 5.0e-6\n", "")).contains("missing required key 'learning_rate'"));
        assertTrue(refused(MINIMAL.replace("type: sft", "type: chat")).contains("type must be one of"));
        assertTrue(refused("- just\n- a list\n").contains("a YAML mapping"));
        assertTrue(refused("base_model: [unclosed\n").contains("invalid YAML"));
    }

    @Test
    void scaleOutKeys() throws InvalidFileException {
        RunConfig c = RunConfig.parse(FILE, MINIMAL);
        assertEquals(StrategyKind.LOCAL, c.strategy());
        assertEquals(25.0, c.bucketSizeMb());
        assertEquals(600, c.distTimeoutSeconds());
        RunConfig z = RunConfig.parse(FILE, MINIMAL + "strategy: zero2\nbucket_size_mb: 0.5\ndist_timeout_seconds: 30\n");
        assertEquals(StrategyKind.ZERO2, z.strategy());
        assertEquals(z, RunConfig.parse(FILE, z.toYaml()));
        assertTrue(refused(MINIMAL + "strategy: fsdp\n").contains("line 7: strategy must be local, ddp, zero1, zero2 or zero3"));
        assertTrue(refused(MINIMAL + "dist_timeout_seconds: 0\n").contains("'dist_timeout_seconds' must be an integer in [1, 31536000], found 0"));
    }

    @Test
    void backendIsCpuByDefaultAndCudaOnRequest() throws InvalidFileException {
        assertEquals(RunConfig.BackendKind.CPU, RunConfig.parse(FILE, MINIMAL).backend());
        RunConfig c = RunConfig.parse(FILE, MINIMAL + "backend: cuda\n");
        assertEquals(RunConfig.BackendKind.CUDA, c.backend());
        assertEquals(c, RunConfig.parse(FILE, c.toYaml()));
        assertTrue(refused(MINIMAL + "backend: tpu\n").contains("backend must be cpu or cuda, found 'tpu'"));
    }

    @Test
    void integersAreReadAs64BitsAndRangeCheckedNeverWrapped() throws InvalidFileException {
        // 2^32 used to wrap to 0 in an int: micro_batch_size ended in "/ by zero", num_epochs silently 0
        String m = refused(MINIMAL + "micro_batch_size: 4294967296\n");
        assertTrue(m.contains("line 7: 'micro_batch_size' must be an integer in [1, 2147483647], found 4294967296"), m);
        assertTrue(refused(MINIMAL + "num_epochs: 4294967296\n").contains("line 7: 'num_epochs'"));
        assertTrue(refused(MINIMAL + "sequence_len: 4294969344\n").contains("'sequence_len'"));
        assertTrue(refused(MINIMAL + "save_total_limit: -4294967296\n").contains("'save_total_limit'"));
        assertTrue(refused(MINIMAL + "seed: 18446744073709551616\n").contains("'seed'"));
        assertTrue(refused(MINIMAL + "dist_timeout_seconds: 9223372036854775807\n").contains("'dist_timeout_seconds'"));
        // 2^31 - 1 fits an int but not a step: Trainer's int[micro_batch_size] failed with "Requested array size
        // exceeds VM limit"
        m = refused(MINIMAL + "micro_batch_size: 2147483647\n");
        assertTrue(m.contains("line 7: micro_batch_size × gradient_accumulation_steps is 2147483647 samples per step"
                + " and rank; janus allows at most 16777216"), m);
        assertTrue(refused(MINIMAL + "micro_batch_size: 4096\ngradient_accumulation_steps: 4097\n").contains("line 8"));
        assertEquals(16777216, RunConfig.parse(FILE, MINIMAL + "micro_batch_size: 4096\ngradient_accumulation_steps: 4096\n")
                .microBatchSize() * 4096);
        assertEquals(Long.MIN_VALUE, RunConfig.parse(FILE, MINIMAL + "seed: -9223372036854775808\n").seed());
    }

    @Test
    void duplicateKeysAreRefusedNotLastWins() {
        String m = refused(MINIMAL + "learning_rate: 1.0\n");
        assertTrue(m.contains("line 7") && m.contains("learning_rate"), m);
        assertTrue(refused(MINIMAL.replace("type: sft", "type: sft\n    type: rm")).contains("'type'"));
    }

    @Test
    void aliasesAreRefusedNotReadAsTheirName() {
        // Jackson's tree reads "*b" as the string "b": seed became "b", a value the user never wrote
        // a string key took the alias's name silently: tokenizer became the file "b"
        String m = refused(MINIMAL.replace("base_model: runs/base", "base_model: &b runs/base") + "tokenizer: *b\n");
        assertTrue(m.contains("line 7: YAML aliases (*b) are not supported; write the value itself"), m);
        m = refused(MINIMAL + "max_steps: &s 7\nseed: *s\n");
        assertTrue(m.contains("line 8: YAML aliases (*s) are not supported"), m);
        assertTrue(refused(MINIMAL + "seed: *nowhere\n").contains("line 7"));
    }

    @Test
    void aConfigPathThatIsNotATextFileIsOneLine(@org.junit.jupiter.api.io.TempDir Path dir) throws java.io.IOException {
        // /dev/zero filled the heap (OutOfMemoryError) in Files.readString
        if (java.nio.file.Files.exists(Path.of("/dev/zero"))) {
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> RunConfig.read(Path.of("/dev/zero")));
            assertEquals("/dev/zero: larger than 1 MiB; not a run config", e.getMessage());
        }
        assertTrue(assertThrows(InvalidFileException.class, () -> RunConfig.read(dir)).getMessage()
                .endsWith(": is a directory, not a run config"));
        Path binary = java.nio.file.Files.write(dir.resolve("run.yaml"), new byte[] {(byte) 0xff, (byte) 0xfe, 'a'});
        assertEquals(binary + ": not valid UTF-8 text",
                assertThrows(InvalidFileException.class, () -> RunConfig.read(binary)).getMessage());
        assertTrue(refused(MINIMAL + "max_steps: 99999999999999999999999\n").contains("line 7: 'max_steps'"));
    }

    @Test
    void aSecondYamlDocumentIsRefusedNotIgnored() {
        // Jackson's tree read the first document only: seed: 5 after '---' was silently dropped
        String m = refused(MINIMAL + "---\nseed: 5\n");
        assertTrue(m.contains("line 8: a second YAML document"), m);
    }
}
