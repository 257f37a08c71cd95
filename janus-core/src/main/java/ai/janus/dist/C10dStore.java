package ai.janus.dist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.FileStore;
import org.bytedeco.pytorch.IntOptional;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * A c10d store from the libtorch presets: a TCPStore (one rank serves it, the others connect;
 * or torchrun's agent serves it) or a FileStore (a file on a file system every rank sees), under
 * a key prefix so that janus' keys never meet the launcher's. See {@link KeyValueStore} for why
 * it must only be reachable from a trusted network.
 *
 * <p>Where the TCPStore server listens: libtorch's TCPStoreOptions has no bind address (its own
 * socket listens on every interface, {@code *:PORT}), only {@code masterListenFd}, a socket already
 * listening. So janus binds that socket itself, to the address MASTER_ADDR names ({@link
 * #listenAddress}): 127.0.0.1 for a loopback MASTER_ADDR, the machine's address for its name or IP.
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
        quietLibtorchWarnings();
        String where = "TCPStore " + host + ":" + port;
        ServerSocketChannel listener = serve ? listen(host, port, where) : null;
        try (TCPStoreOptions options = new TCPStoreOptions(); SizeTPointer workers = new SizeTPointer(1);
             IntOptional fd = listener == null ? new IntOptional() : new IntOptional(fileDescriptor(listener, port))) {
            options.port((short) port);
            options.isServer(serve);
            options.numWorkers(workers.put(worldSize));
            options.waitWorkers(false);
            options.timeout(new Milliseconds(timeout.toMillis()));
            options.masterListenFd(fd);
            try {
                return new C10dStore(new TCPStore(host, options), prefix, where);
            } catch (RuntimeException e) {
                throw new DistributedException((serve ? "cannot serve the " : "cannot reach the ") + where + ": "
                        + GlooCommunicator.firstLine(e), e);
            }
        }
    }

    /**
     * The address the TCPStore server of MASTER_ADDR {@code host} listens on: the loopback address
     * for a loopback name (localhost, 127.x, ::1), else what {@code host} resolves to. One
     * exception: a machine name that resolves to a loopback address here (Debian's 127.0.1.1 entry
     * for its own name) while the other ranks reach it over the network; then every interface
     * (null), as libtorch would, since binding 127.0.1.1 would shut the other machines out.
     */
    static InetAddress listenAddress(String host) {
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new DistributedException("cannot serve the TCPStore: MASTER_ADDR=" + host + " does not resolve here ("
                    + e.getMessage() + ")", e);
        }
        return address.isLoopbackAddress() && !Rendezvous.isLoopback(host) ? null : address;
    }

    /**
     * A socket listening on {@code host}'s address ({@link #listenAddress}) and {@code port}. Its
     * file descriptor goes to libtorch, which owns it from then on (it closes it when the server
     * stops); the channel object stays reachable in {@link #LISTENERS} so that nothing on the Java
     * side ever closes that number again.
     */
    private static ServerSocketChannel listen(String host, int port, String where) {
        InetAddress address = listenAddress(host);
        try {
            ServerSocketChannel channel = address == null || address instanceof java.net.Inet6Address
                    ? ServerSocketChannel.open(StandardProtocolFamily.INET6)
                    : ServerSocketChannel.open(StandardProtocolFamily.INET);
            try {
                channel.bind(new InetSocketAddress(address, port), 128);
            } catch (IOException e) {
                channel.close();
                throw new DistributedException("cannot serve the " + where + " on " + (address == null ? "*"
                        : address.getHostAddress()) + ":" + port + " (" + e.getMessage() + ")"
                        + (address == null || address.isLoopbackAddress() ? ""
                        : "; MASTER_ADDR must name this machine, where rank 0 runs"), e);
            }
            synchronized (LISTENERS) {
                LISTENERS.add(channel);
            }
            return channel;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Listening sockets handed to libtorch; never closed here (see {@link #listen}). */
    private static final Set<ServerSocketChannel> LISTENERS = new HashSet<>();

    /**
     * The file descriptor of {@code channel}, a socket this process listens with on {@code port}.
     * Java exposes no descriptor without opening java.base's internals, so it is found the way
     * {@code ss -p} finds it: the socket's inode in /proc/self/net/tcp{,6}, then the /proc/self/fd
     * entry that links to "socket:[inode]".
     */
    static int fileDescriptor(ServerSocketChannel channel, int port) {
        try {
            Set<String> inodes = new HashSet<>();
            for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
                Path file = Path.of(table);
                if (!Files.isReadable(file)) {
                    continue;
                }
                for (String line : Files.readAllLines(file)) {
                    String[] f = line.strip().split("\\s+");
                    // sl local_address rem_address st ... inode; st 0A is LISTEN
                    if (f.length > 9 && f[3].equals("0A") && f[1].endsWith(String.format(":%04X", port))) {
                        inodes.add("socket:[" + f[9] + "]");
                    }
                }
            }
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
                for (Path fd : fds) {
                    String target;
                    try {
                        target = Files.readSymbolicLink(fd).toString();
                    } catch (IOException e) {
                        continue; // closed since the listing
                    }
                    if (inodes.contains(target)) {
                        return Integer.parseInt(fd.getFileName().toString());
                    }
                }
            }
        } catch (IOException e) {
            throw new DistributedException("cannot find the TCPStore's listening socket in /proc/self: " + e.getMessage(), e);
        }
        throw new DistributedException("cannot find the file descriptor of the TCPStore's listening socket (port "
                + port + ") in /proc/self (janus serves the TCPStore on Linux only)");
    }

    private static boolean quiet;

    /**
     * Sets libtorch's log level to ERROR (c10's flag caffe2_log_level=2) unless TORCH_CPP_LOG_LEVEL
     * chooses one. When a rank dies, c10d logs a WARNING for every broken store connection that
     * carries the whole C++ stack trace of the exception ("Exception raised from sendBytes …",
     * "frame #0: c10::Error::Error …"), printed before janus's one-line error that already says
     * which rank stopped. TORCH_CPP_LOG_LEVEL=WARNING (or INFO) brings them back for debugging.
     * The environment variable itself cannot help once the JVM runs: c10 reads it only in
     * initLogging, and a JVM cannot set its own environment.
     */
    static synchronized void quietLibtorchWarnings() {
        if (quiet || System.getenv("TORCH_CPP_LOG_LEVEL") != null) {
            return;
        }
        quiet = true;
        // c10's own flag parser (ParseCommandLineFlags(int* argc, char*** argv)); JavaCPP passes the
        // address of argv itself, so argv goes in as it is
        try (PointerPointer<?> argv = new PointerPointer<>("janus", "--caffe2_log_level=2")) {
            torch.ParseCommandLineFlags(new int[] {2}, argv);
            torch.UpdateLoggingLevelsFromFlags();
        }
    }

    /** A FileStore at {@code file}, shared by {@code worldSize} ranks. */
    public static C10dStore file(Path file, int worldSize, Duration timeout, String prefix) {
        Communicators.requireLibtorch();
        quietLibtorchWarnings();
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
