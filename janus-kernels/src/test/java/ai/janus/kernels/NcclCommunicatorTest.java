package ai.janus.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.janus.dist.DistributedException;
import ai.janus.dist.KeyValueStore;
import ai.janus.dist.Rendezvous;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The NCCL path without a GPU: the unique id goes from rank 0 through the store to every rank,
 * the device comes from the launcher's local rank, and asking for NCCL where CUDA is missing is a
 * one-line error. With a GPU, a world-size-1 communicator's collectives are checked as well.
 */
class NcclCommunicatorTest {
    /** An in-memory store shared by threads; get waits for the key like a c10d store does. */
    static final class MapStore implements KeyValueStore {
        private final Map<String, byte[]> values = new ConcurrentHashMap<>();

        @Override
        public synchronized void set(String key, byte[] value) {
            values.put(key, value.clone());
            notifyAll();
        }

        @Override
        public synchronized byte[] get(String key) {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!values.containsKey(key)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new DistributedException("no value for " + key);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return values.get(key).clone();
        }

        @Override
        public byte[] tryGet(String key) {
            byte[] v = values.get(key);
            return v == null ? null : v.clone();
        }

        @Override
        public synchronized long add(String key, long delta) {
            long v = values.containsKey(key) ? Long.parseLong(new String(values.get(key))) + delta : delta;
            values.put(key, Long.toString(v).getBytes());
            return v;
        }

        @Override
        public void close() {}
    }

    @Test
    void rankZerosUniqueIdReachesEveryRankThroughTheStore() throws Exception {
        MapStore store = new MapStore();
        AtomicInteger created = new AtomicInteger();
        byte[] id = new byte[NcclCommunicator.UNIQUE_ID_BYTES];
        for (int i = 0; i < id.length; i++) {
            id[i] = (byte) (i * 7 + 3);
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> seen = new ArrayList<>();
            for (int r = 3; r >= 0; r--) { // the readers start first and wait
                int rank = r;
                seen.add(pool.submit(() -> NcclCommunicator.exchangeUniqueId(store, rank, () -> {
                    created.incrementAndGet();
                    return id.clone();
                })));
            }
            for (Future<byte[]> f : seen) {
                assertArrayEquals(id, f.get(10, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, created.get(), "only rank 0 creates the id");
        assertArrayEquals(id, store.tryGet(NcclCommunicator.UNIQUE_ID_KEY));
    }

    @Test
    void anIdOfAnotherLengthIsRefused() {
        MapStore store = new MapStore();
        store.set(NcclCommunicator.UNIQUE_ID_KEY, new byte[16]);
        DistributedException e = assertThrows(DistributedException.class,
                () -> NcclCommunicator.exchangeUniqueId(store, 1, () -> new byte[128]));
        assertEquals("rank 1: the NCCL unique id in the store has 16 bytes, not 128", e.getMessage());
    }

    @Test
    void eachRankDrivesTheGpuOfItsLocalRank() {
        Rendezvous torchrun = Rendezvous.fromEnvironment(Map.of("RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1",
                "MASTER_ADDR", "n0", "MASTER_PORT", "29500", "TORCHELASTIC_RUN_ID", "j"));
        assertEquals(1, NcclCommunicator.device(torchrun));
        Rendezvous slurm = Rendezvous.fromEnvironment(Map.of("SLURM_PROCID", "6", "SLURM_NTASKS", "8",
                "SLURM_LOCALID", "2", "SLURM_JOB_NODELIST", "g[1-2]", "SLURM_JOB_ID", "9"));
        assertEquals(2, NcclCommunicator.device(slurm));
        assertEquals(0, NcclCommunicator.device(Rendezvous.local()));
    }

    @Test
    void withoutCudaNcclIsAOneLineError() {
        assumeTrue(!CudaProbe.probe().available(), "CUDA is available here");
        DistributedException e = assertThrows(DistributedException.class,
                () -> NcclCommunicator.create(new MapStore(), Rendezvous.local(), null));
        assertTrue(e.getMessage().startsWith("NCCL needs a GPU: CUDA unavailable: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    /** On a GPU: world size 1, every collective is the identity, through device memory and back. */
    @Test
    void worldSizeOneOnAGpu() {
        assumeTrue(CudaProbe.probe().available(), CudaProbe.probe().toString());
        try (NcclCommunicator c = NcclCommunicator.create(new MapStore(), Rendezvous.local(), null);
             Tensor a = Tensor.of(new float[] {1, 2, 3}, 3); Tensor b = Tensor.allocate(DType.F32, 3)) {
            c.allReduce(a).await();
            assertArrayEquals(new float[] {1, 2, 3}, a.toFloatArray());
            c.reduceScatter(b, a).await();
            assertArrayEquals(new float[] {1, 2, 3}, b.toFloatArray());
            b.fill(0);
            c.allGather(b, a).await();
            assertArrayEquals(new float[] {1, 2, 3}, b.toFloatArray());
            assertArrayEquals(new double[] {Math.PI}, c.allGather(new double[] {Math.PI}));
        }
    }
}
