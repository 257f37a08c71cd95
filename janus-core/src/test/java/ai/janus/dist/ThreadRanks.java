package ai.janus.dist;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Ranks as threads of one JVM, each with its own Gloo process group, meeting in a FileStore: how
 * the tests run several ranks without several processes.
 */
public final class ThreadRanks {
    /** What one rank does with its communicator. */
    @FunctionalInterface
    public interface RankBody<T> {
        T run(Communicator communicator) throws Exception;
    }

    private ThreadRanks() {}

    /** Runs {@code body} on {@code worldSize} ranks; returns each rank's result in rank order, rethrowing the first failure. */
    public static <T> List<T> run(int worldSize, Path storeFile, Duration timeout, RankBody<T> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(worldSize);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < worldSize; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    C10dStore store = C10dStore.file(storeFile, worldSize, timeout, Rendezvous.PREFIX);
                    try (Communicator c = GlooCommunicator.create(store, rank, worldSize, "127.0.0.1", null, timeout)) {
                        return body.run(c);
                    }
                }));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                try {
                    results.add(f.get(10, TimeUnit.MINUTES));
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Exception ex) {
                        throw ex;
                    }
                    throw e;
                }
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
