package ai.janus.dist;

/**
 * The small key-value store the ranks of a job share for rendezvous: who is where (Gloo),
 * NCCL's unique id, heartbeats. janus uses c10d's TCPStore or FileStore ({@link C10dStore}).
 *
 * <p>Security: neither store authenticates anything. A TCPStore listens on MASTER_ADDR:MASTER_PORT
 * and anyone who can reach that port can read and overwrite every key, and so redirect or stall
 * the job. Run it only on a trusted, private network; a FileStore must live on a file system only
 * the job's user can write.
 */
public interface KeyValueStore extends AutoCloseable {
    void set(String key, byte[] value);

    /** The value of {@code key}, waiting for it up to the store's timeout (then a {@link DistributedException}). */
    byte[] get(String key);

    /** The value of {@code key}, or null when it is not set now; never waits. */
    byte[] tryGet(String key);

    /** Atomically adds {@code delta} to the integer at {@code key} (0 when unset) and returns the new value. */
    long add(String key, long delta);

    @Override
    void close();
}
