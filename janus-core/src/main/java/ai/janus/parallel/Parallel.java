package ai.janus.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fixed pool of daemon worker threads with one loop primitive: run {@code body} over the
 * index range [0, n) in chunks, handed out dynamically so that uneven chunks (causal attention)
 * balance. The calling thread works too. A call made from inside a worker runs inline, so
 * nested parallel loops cannot deadlock.
 */
public final class Parallel implements AutoCloseable {
    /** Body of a parallel loop over [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(long start, long end);
    }

    private static final ThreadLocal<Boolean> IN_WORKER = ThreadLocal.withInitial(() -> false);

    private final int threads;
    private final ExecutorService pool;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(() -> {
                IN_WORKER.set(true);
                r.run();
            }, "janus-cpu-worker");
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} indices. Exceptions in
     * any chunk are rethrown here after all chunks finished.
     */
    public void forRange(long n, long grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        long chunk = Math.max(Math.max(1, grain), (n + 4L * threads - 1) / (4L * threads));
        run(n, chunk, body);
    }

    /** Runs {@code task(i)} for every i in [0, n), each index its own chunk (coarse, uneven tasks). */
    public void forEach(int n, java.util.function.IntConsumer task) {
        run(n, 1, (start, end) -> {
            for (long i = start; i < end; i++) {
                task.accept((int) i);
            }
        });
    }

    private void run(long n, long chunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        long chunks = (n + chunk - 1) / chunk;
        if (pool == null || chunks == 1 || IN_WORKER.get()) {
            body.run(0, n);
            return;
        }
        AtomicLong next = new AtomicLong();
        Runnable worker = () -> {
            for (long c; (c = next.getAndIncrement()) < chunks; ) {
                long start = c * chunk;
                body.run(start, Math.min(n, start + chunk));
            }
        };
        int helpers = (int) Math.min(threads - 1, chunks - 1);
        List<Future<?>> futures = new ArrayList<>(helpers);
        for (int i = 0; i < helpers; i++) {
            futures.add(pool.submit(worker));
        }
        Throwable failure = null;
        try {
            IN_WORKER.set(true);
            worker.run();
        } catch (RuntimeException | Error e) {
            failure = e;
            next.set(chunks); // stop handing out chunks
        } finally {
            IN_WORKER.set(false);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        } else if (failure instanceof Error err) {
            throw err;
        } else if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
