package ai.janus.dist;

import java.nio.file.Path;
import java.time.Duration;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.FileStore;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;

/**
 * A c10d store from the libtorch presets: a TCPStore (one rank serves it, the others connect;
 * or torchrun's agent serves it) or a FileStore (a file on a file system every rank sees), under
 * a key prefix so that janus' keys never meet the launcher's. See {@link KeyValueStore} for why
 * it must only be reachable from a trusted network.
 */
public final class C10dStore implements KeyValueStore {
    private final Store base;
    private final PrefixStore store;
    private final String description;

    private C10dStore(Store base, String prefix, String description) {
        this.base = base;
        this.store = new PrefixStore(prefix, base);
        this.description = description;
    }

    /**
     * A TCPStore at {@code host:port}: {@code serve} starts the server here (rank 0, unless
     * torchrun's agent already serves it), every rank connects as a client.
     */
    public static C10dStore tcp(String host, int port, boolean serve, int worldSize, Duration timeout, String prefix) {
        Communicators.requireLibtorch();
        try (TCPStoreOptions options = new TCPStoreOptions(); SizeTPointer workers = new SizeTPointer(1)) {
            options.port((short) port);
            options.isServer(serve);
            options.numWorkers(workers.put(worldSize));
            options.waitWorkers(false);
            options.timeout(new Milliseconds(timeout.toMillis()));
            String where = "TCPStore " + host + ":" + port;
            try {
                return new C10dStore(new TCPStore(host, options), prefix, where);
            } catch (RuntimeException e) {
                throw new DistributedException((serve ? "cannot serve the " : "cannot reach the ") + where + ": "
                        + GlooCommunicator.firstLine(e), e);
            }
        }
    }

    /** A FileStore at {@code file}, shared by {@code worldSize} ranks. */
    public static C10dStore file(Path file, int worldSize, Duration timeout, String prefix) {
        Communicators.requireLibtorch();
        FileStore fs = new FileStore(file.toAbsolutePath().toString(), worldSize);
        fs.setTimeout(new Milliseconds(timeout.toMillis()));
        return new C10dStore(fs, prefix, "FileStore " + file);
    }

    /** The c10d store, prefixed, for ProcessGroupGloo. */
    Store c10d() {
        return store;
    }

    @Override
    public void set(String key, byte[] value) {
        try (ByteVector v = new ByteVector(value)) {
            store.set(key, v);
        }
    }

    @Override
    public byte[] get(String key) {
        try (ByteVector v = store.get(key)) {
            return v.get();
        } catch (RuntimeException e) {
            throw new DistributedException(description + ": no value for '" + key + "' (" + GlooCommunicator.firstLine(e)
                    + ")", e);
        }
    }

    @Override
    public byte[] tryGet(String key) {
        try (StringVector keys = new StringVector(key)) {
            if (!store.check(keys)) {
                return null;
            }
        }
        return get(key);
    }

    @Override
    public long add(String key, long delta) {
        return store.add(key, delta);
    }

    @Override
    public String toString() {
        return description;
    }

    @Override
    public void close() {
        store.close();
        base.close();
    }
}
