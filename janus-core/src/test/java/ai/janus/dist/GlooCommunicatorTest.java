package ai.janus.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.tensor.DType;
import ai.janus.tensor.HalfFloats;
import ai.janus.tensor.Tensor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gloo collectives over janus buffers, ranks as threads over a FileStore: each collective against
 * the values computed by hand, zero-copy (the janus tensor itself changes), and failures that
 * name the rank.
 */
class GlooCommunicatorTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    /** Rank r's value at element i: small integers, so every sum is exact whatever the order. */
    static float value(int rank, int i) {
        return rank * 1000 + i;
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3, 4})
    void collectivesGiveTheSumsAndGathersWrittenOut(int w) throws Exception {
        int n = 6;
        List<String> ok = ThreadRanks.run(w, dir.resolve("store"), TIMEOUT, c -> {
            int r = c.rank();
            assertEquals(w, c.worldSize());
            // all-reduce in place: element i becomes Σ_r (1000 r + i)
            try (Tensor t = Tensor.allocate(DType.F32, n)) {
                for (int i = 0; i < n; i++) {
                    t.floats().put(i, value(r, i));
                }
                c.allReduce(t).await();
                for (int i = 0; i < n; i++) {
                    assertEquals(1000f * w * (w - 1) / 2 + w * i, t.floats().get(i), "all-reduce element " + i);
                }
            }
            // reduce-scatter: rank r receives part r of the sum
            try (Tensor in = Tensor.allocate(DType.F32, (long) n * w); Tensor out = Tensor.allocate(DType.F32, n)) {
                for (int i = 0; i < n * w; i++) {
                    in.floats().put(i, value(r, i));
                }
                c.reduceScatter(out, in).await();
                for (int i = 0; i < n; i++) {
                    assertEquals(1000f * w * (w - 1) / 2 + w * (r * n + i), out.floats().get(i), "reduce-scatter " + i);
                }
            }
            // all-gather, in place: this rank's part is a view of the output
            try (Tensor all = Tensor.allocate(DType.F32, (long) n * w)) {
                Tensor mine = all.rows(r * (long) n, n);
                for (int i = 0; i < n; i++) {
                    mine.floats().put(i, value(r, i));
                }
                c.allGather(all, mine).await();
                for (int q = 0; q < w; q++) {
                    for (int i = 0; i < n; i++) {
                        assertEquals(value(q, i), all.floats().get(q * n + i), "all-gather rank " + q + " element " + i);
                    }
                }
            }
            // broadcast of bf16 from the last rank
            try (Tensor b = Tensor.allocate(DType.BF16, n)) {
                for (int i = 0; i < n; i++) {
                    b.shorts().put(i, HalfFloats.floatToBf16(r == w - 1 ? i + 0.5f : -1f));
                }
                c.broadcast(b, w - 1).await();
                for (int i = 0; i < n; i++) {
                    assertEquals(i + 0.5f, HalfFloats.bf16ToFloat(b.shorts().get(i)));
                }
            }
            c.barrier().await();
            double[] all = c.allGather(new double[] {r + 0.1, Math.PI * r});
            for (int q = 0; q < w; q++) {
                assertEquals(q + 0.1, all[2 * q]);
                assertEquals(Math.PI * q, all[2 * q + 1], "doubles travel bit for bit");
            }
            return "ok";
        });
        assertEquals(w, ok.size());
    }

    @Test
    void asyncCollectivesOverlapAndCompleteInIssueOrder() throws Exception {
        ThreadRanks.run(2, dir.resolve("store"), TIMEOUT, c -> {
            Tensor[] buffers = new Tensor[8];
            Work[] works = new Work[buffers.length];
            for (int k = 0; k < buffers.length; k++) {
                buffers[k] = Tensor.allocate(DType.F32, 1000 + k);
                buffers[k].fill(k + c.rank());
                works[k] = c.allReduce(buffers[k]);
            }
            for (int k = 0; k < buffers.length; k++) {
                works[k].await();
                assertTrue(works[k].isDone());
                assertEquals(2f * k + 1, buffers[k].floats().get(999 + k));
                buffers[k].close();
            }
            return null;
        });
    }

    @Test
    void aStalledRankIsNamedWithinTheTimeout() throws Exception {
        Duration timeout = Duration.ofSeconds(3);
        CountDownLatch done = new CountDownLatch(1);
        long[] elapsed = new long[1];
        DistributedException e = assertThrows(DistributedException.class, () -> ThreadRanks.run(2, dir.resolve("s"),
                timeout, c -> {
                    try (Tensor t = Tensor.allocate(DType.F32, 4)) {
                        c.allReduce(t).await();
                        if (c.rank() == 1) {
                            done.await(30, TimeUnit.SECONDS); // stalls: never enters the second all-reduce
                            return null;
                        }
                        long start = System.nanoTime();
                        try {
                            c.allReduce(t).await();
                        } finally {
                            elapsed[0] = System.nanoTime() - start;
                            done.countDown();
                        }
                        return null;
                    }
                }));
        assertTrue(e.getMessage().contains("collective #2 (all-reduce of 4 floats) failed: rank 1 is alive but stalled (it entered 1 of the 2"), e.getMessage());
        assertTrue(e.getMessage().startsWith("rank 0: "), e.getMessage());
        assertTrue(elapsed[0] < timeout.toNanos() + 500_000_000L, "stopped within the timeout: " + elapsed[0] / 1e6 + " ms");
        assertTrue(!e.getMessage().contains("\n"), "one line");
    }

    @Test
    void aRankThatLeavesIsNamedAsStopped() throws Exception {
        Duration timeout = Duration.ofSeconds(3);
        DistributedException e = assertThrows(DistributedException.class, () -> ThreadRanks.run(2, dir.resolve("s"),
                timeout, c -> {
                    try (Tensor t = Tensor.allocate(DType.F32, 4)) {
                        c.allReduce(t).await();
                        if (c.rank() == 1) {
                            return null; // closes its communicator: its heartbeat ends, its connections close
                        }
                        Thread.sleep(300);
                        c.allReduce(t).await();
                        return null;
                    }
                }));
        assertTrue(e.getMessage().contains("rank 1 stopped"), e.getMessage());
    }

    /** Two ranks from torchrun's variables meet in a loopback TCPStore served by rank 0. */
    @Test
    void torchrunVariablesOverALoopbackTcpStore() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<Float>> sums = new java.util.ArrayList<>();
            for (int r = 0; r < 2; r++) {
                java.util.Map<String, String> env = java.util.Map.of("RANK", Integer.toString(r), "WORLD_SIZE", "2",
                        "LOCAL_RANK", Integer.toString(r), "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port),
                        "TORCHELASTIC_RUN_ID", "test");
                sums.add(pool.submit(() -> {
                    try (Communicator c = Communicators.connect(Rendezvous.fromEnvironment(env), TIMEOUT);
                         Tensor t = Tensor.of(new float[] {c.rank() + 1}, 1)) {
                        assertInstanceOf(GlooCommunicator.class, c);
                        c.allReduce(t).await();
                        c.barrier().await(); // rank 0 serves the store: it leaves last
                        return t.floats().get(0);
                    }
                }));
            }
            for (java.util.concurrent.Future<Float> f : sums) {
                assertEquals(3f, f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
