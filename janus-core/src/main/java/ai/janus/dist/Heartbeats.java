package ai.janus.dist;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Finds out which rank made a collective fail. Every rank publishes, every {@code interval}, the
 * key {@code heartbeat/RANK} = "{@code entered beat}": the sequence number of the last
 * collective it entered and a counter that grows with every beat. When a collective fails (a
 * peer's connection closed, or the timeout passed), {@link #diagnose} reads every rank's value
 * twice, two intervals apart:
 * <ul>
 *   <li>a rank with no value never joined;</li>
 *   <li>a rank whose beat did not move has stopped (its process died or hangs whole);</li>
 *   <li>a rank that beats but entered fewer collectives is alive and stalled before this one;</li>
 * </ul>
 * and the answer names them in one line. A store that cannot be read any more was served by a
 * rank that stopped (a TCPStore lives in rank 0's process).
 */
final class Heartbeats implements AutoCloseable {
    private final KeyValueStore store;
    private final int rank;
    private final int worldSize;
    private final Duration interval;
    private final AtomicLong entered = new AtomicLong();
    private final Thread thread;
    private volatile boolean closed;

    Heartbeats(KeyValueStore store, int rank, int worldSize, Duration interval) {
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        this.interval = interval;
        beat(0);
        this.thread = new Thread(this::run, "janus-heartbeat-" + rank);
        thread.setDaemon(true);
        thread.start();
    }

    /** The interval for a collective timeout: a twentieth of it, between 50 ms and 1 s. */
    static Duration intervalFor(Duration timeout) {
        return Duration.ofMillis(Math.max(50, Math.min(1000, timeout.toMillis() / 20)));
    }

    /** Records that this rank entered collective {@code sequence} (1, 2, …). */
    void entering(long sequence) {
        entered.set(sequence);
    }

    private void run() {
        long beat = 1;
        while (!closed) {
            try {
                Thread.sleep(interval.toMillis());
                beat(beat++);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                return; // the store is gone: the collectives will report it
            }
        }
    }

    /** One beat; never after {@link #close} (which waits for a beat in flight: the store is closed next). */
    private synchronized void beat(long beat) {
        if (!closed) {
            store.set(key(rank), (entered.get() + " " + beat).getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String key(int rank) {
        return "heartbeat/" + rank;
    }

    /**
     * Which ranks made collective {@code sequence} ({@code what}) fail, as one line; blocks two
     * heartbeat intervals.
     */
    String diagnose(long sequence, String what) {
        long[][] first, second;
        try {
            first = sample();
            Thread.sleep(2 * interval.toMillis());
            second = sample();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "rank " + rank + " was interrupted while " + what + " was pending";
        } catch (RuntimeException e) {
            return "the rendezvous store (" + store + ") is unreachable, so rank 0, which serves it, has stopped";
        }
        List<String> found = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            if (r == rank) {
                continue;
            }
            if (second[r] == null) {
                found.add("rank " + r + " never joined");
            } else if (first[r] != null && first[r][1] == second[r][1]) {
                found.add("rank " + r + " stopped (no heartbeat for " + 2 * interval.toMillis() + " ms)");
            } else if (second[r][0] < sequence) {
                found.add("rank " + r + " is alive but stalled (it entered " + second[r][0] + " of the " + sequence
                        + " collectives)");
            }
        }
        return found.isEmpty() ? "no rank could be blamed for " + what : String.join("; ", found);
    }

    /** Every rank's (entered, beat), null where a rank never published one. */
    private long[][] sample() {
        long[][] out = new long[worldSize][];
        for (int r = 0; r < worldSize; r++) {
            byte[] v = store.tryGet(key(r));
            if (v != null) {
                String[] parts = new String(v, StandardCharsets.UTF_8).split(" ");
                out[r] = new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
            }
        }
        return out;
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true; // after a beat in flight has returned: the caller may close the store once we return
        }
        thread.interrupt();
        try {
            thread.join(interval.toMillis() * 2 + 100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
