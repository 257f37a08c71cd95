package ai.janus.dist;

import java.time.Duration;

/**
 * Builds the communicator a {@link Rendezvous} asks for: {@link LocalCommunicator} for one
 * process, else a c10d store and {@link GlooCommunicator}. This class touches no libtorch type,
 * so it loads without the optional org.bytedeco:pytorch dependency and can say it is missing.
 */
public final class Communicators {
    /** The artifacts Gloo and the c10d stores come from. */
    public static final String LIBTORCH = "org.bytedeco:pytorch:2.10.0-1.5.13 (and its linux-x86_64 classifier jar)";

    private Communicators() {}

    /**
     * The communicator of {@code rendezvous}; {@code timeout} bounds the rendezvous and every
     * collective (a rank that dies or stalls makes the others fail within it).
     */
    public static Communicator connect(Rendezvous rendezvous, Duration timeout) {
        if (rendezvous.worldSize() == 1) {
            return new LocalCommunicator();
        }
        requireLibtorch();
        C10dStore store = rendezvous.storeFile() != null
                ? C10dStore.file(rendezvous.storeFile(), rendezvous.worldSize(), timeout, rendezvous.storePrefix())
                : C10dStore.tcp(rendezvous.masterAddr(), rendezvous.masterPort(), rendezvous.serveStore(),
                        rendezvous.worldSize(), timeout, rendezvous.storePrefix());
        try {
            return GlooCommunicator.create(store, rendezvous.rank(), rendezvous.worldSize(), rendezvous.glooHost(),
                    rendezvous.glooInterface(), timeout);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** Throws a one-line error naming the missing dependency when libtorch is not on the classpath. */
    public static void requireLibtorch() {
        if (!libtorchPresent()) {
            throw new DistributedException("training on several processes needs Gloo and the c10d stores from libtorch: "
                    + "add " + LIBTORCH + " to the classpath (with ./janus: JANUS_CLASSPATH=pytorch.jar:pytorch-linux-x86_64.jar)");
        }
    }

    static boolean libtorchPresent() {
        try {
            Class.forName("org.bytedeco.pytorch.ProcessGroupGloo", false, Communicators.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
