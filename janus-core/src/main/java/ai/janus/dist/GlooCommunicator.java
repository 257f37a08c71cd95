package ai.janus.dist;

import static org.bytedeco.pytorch.global.torch.from_blob;

import ai.janus.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllgatherOptions;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceScatterOptions;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.gloo.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Collectives on the CPU through c10d's ProcessGroupGloo (libtorch presets), zero-copy: each
 * janus buffer is handed to Gloo as a torch tensor made by {@code from_blob} over its off-heap
 * memory, so Gloo reads and writes janus' storage directly.
 *
 * <p>Construction: ProcessGroupGloo needs at least one transport device; janus creates one for
 * the address its peers reach it at ({@code createDeviceForHostname}), or for a named network
 * interface (GLOO_SOCKET_IFNAME). The constructor that takes no options fails with "No device(s)
 * specified". The process group finds its peers through the store and waits for all of them up
 * to the timeout.
 *
 * <p>Failures: a collective waits at most 80% of the configured timeout; when it fails,
 * {@link Heartbeats} names the rank that died or stalled (the remaining 20% covers that
 * diagnosis), and {@link Work#await} throws a one-line {@link DistributedException}.
 */
public final class GlooCommunicator implements Communicator {
    private final ProcessGroupGloo group;
    private final C10dStore store;
    private final int rank;
    private final int worldSize;
    private final Heartbeats heartbeats;
    private long sequence;

    private GlooCommunicator(ProcessGroupGloo group, C10dStore store, int rank, int worldSize, Heartbeats heartbeats) {
        this.group = group;
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        this.heartbeats = heartbeats;
    }

    /**
     * Joins the process group of {@code worldSize} ranks that meet in {@code store}, which the
     * communicator then owns (closed with it).
     *
     * @param host      the address of this machine its peers can reach (127.0.0.1 on one machine)
     * @param iface     a network interface name to use instead of {@code host}, or null
     * @param timeout   how long a rank waits for the others, at the rendezvous and in every collective
     */
    public static GlooCommunicator create(C10dStore store, int rank, int worldSize, String host, String iface,
                                          Duration timeout) {
        Collectives.requireRank(rank, worldSize);
        Heartbeats heartbeats = new Heartbeats(store, rank, worldSize, Heartbeats.intervalFor(timeout));
        long collectiveMillis = Math.max(1, timeout.toMillis() * 4 / 5);
        try (ProcessGroupGloo.Options options = new ProcessGroupGloo.Options(new Milliseconds(collectiveMillis))) {
            Device device = iface != null ? ProcessGroupGloo.createDeviceForInterface(iface)
                    : ProcessGroupGloo.createDeviceForHostname(host);
            options.devices(new GlooDeviceVector(device));
            ProcessGroupGloo group = new ProcessGroupGloo(store.c10d(), rank, worldSize, options);
            return new GlooCommunicator(group, store, rank, worldSize, heartbeats);
        } catch (RuntimeException e) {
            String who = heartbeats.diagnose(0, "the rendezvous");
            heartbeats.close();
            throw new DistributedException("rank " + rank + " of " + worldSize + ": Gloo rendezvous through " + store
                    + " failed: " + who + " (" + firstLine(e) + ")", e);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    public String name() {
        return "gloo";
    }

    @Override
    public Work allReduce(Tensor buffer) {
        Collectives.requireF32("all-reduce", buffer);
        Call call = begin("all-reduce of " + buffer.numel() + " floats");
        TensorVector tensors = call.vector(buffer);
        AllreduceOptions options = call.keep(new AllreduceOptions());
        return call.issue(() -> group.allreduce(tensors, options));
    }

    @Override
    public Work reduceScatter(Tensor output, Tensor input) {
        Collectives.requireF32("reduce-scatter", output);
        Collectives.requireParts("reduce-scatter", input, output, worldSize);
        Call call = begin("reduce-scatter of " + input.numel() + " floats");
        org.bytedeco.pytorch.Tensor out = call.torch(output), in = call.torch(input);
        ReduceScatterOptions options = call.keep(new ReduceScatterOptions());
        return call.issue(() -> group._reduce_scatter_base(out, in, options));
    }

    @Override
    public Work allGather(Tensor output, Tensor input) {
        Collectives.requireParts("all-gather", output, input, worldSize);
        Call call = begin("all-gather of " + output.numel() + " " + output.dtype());
        org.bytedeco.pytorch.Tensor out = call.torch(output), in = call.torch(input);
        AllgatherOptions options = call.keep(new AllgatherOptions());
        return call.issue(() -> group._allgather_base(out, in, options));
    }

    @Override
    public Work broadcast(Tensor buffer, int root) {
        Collectives.requireRank(root, worldSize);
        Call call = begin("broadcast of " + buffer.numel() + " " + buffer.dtype() + " from rank " + root);
        TensorVector tensors = call.vector(buffer);
        BroadcastOptions options = call.keep(new BroadcastOptions());
        options.rootRank(root);
        return call.issue(() -> group.broadcast(tensors, options));
    }

    @Override
    public Work barrier() {
        Call call = begin("barrier");
        BarrierOptions options = call.keep(new BarrierOptions());
        return call.issue(() -> group.barrier(options));
    }

    @Override
    public double[] allGather(double[] values) {
        double[] out = new double[Math.multiplyExact(values.length, worldSize)];
        try (DoublePointer in = new DoublePointer(values); DoublePointer all = new DoublePointer(out.length)) {
            Call call = begin("all-gather of " + values.length + " doubles");
            org.bytedeco.pytorch.Tensor a = call.keep(from_blob(all, new long[] {out.length}, call.options(ScalarType.Double)));
            org.bytedeco.pytorch.Tensor i = call.keep(from_blob(in, new long[] {values.length}, call.options(ScalarType.Double)));
            AllgatherOptions options = call.keep(new AllgatherOptions());
            call.issue(() -> group._allgather_base(a, i, options)).await();
            all.get(out);
        }
        return out;
    }

    private Call begin(String what) {
        sequence++;
        heartbeats.entering(sequence);
        return new Call(sequence, what);
    }

    /**
     * One collective: the torch objects made for it (tensors over janus memory, vectors,
     * options), kept until it completes, then released.
     */
    private final class Call implements Work {
        private final long sequence;
        private final String what;
        private final List<Pointer> held = new ArrayList<>();
        private org.bytedeco.pytorch.Work work;
        private boolean awaited;

        Call(long sequence, String what) {
            this.sequence = sequence;
            this.what = "collective #" + sequence + " (" + what + ")";
        }

        <P extends Pointer> P keep(P p) {
            held.add(p);
            return p;
        }

        TensorOptions options(ScalarType type) {
            return keep(new TensorOptions(type));
        }

        /** A torch tensor over the janus tensor's memory, 1-D, no copy. */
        org.bytedeco.pytorch.Tensor torch(Tensor t) {
            ScalarType type = switch (t.dtype()) {
                case F32 -> ScalarType.Float;
                case BF16 -> ScalarType.BFloat16;
                default -> throw new IllegalArgumentException("Gloo collectives take F32 or BF16 buffers, got " + t);
            };
            Pointer data = t.storage().pointer(t.byteOffset());
            return keep(from_blob(data, new long[] {t.numel()}, options(type)));
        }

        TensorVector vector(Tensor t) {
            return keep(new TensorVector(torch(t)));
        }

        Work issue(java.util.function.Supplier<org.bytedeco.pytorch.Work> start) {
            try {
                work = keep(start.get());
                return this;
            } catch (RuntimeException e) {
                release();
                throw failure(e);
            }
        }

        @Override
        public void await() {
            if (awaited) {
                return;
            }
            awaited = true;
            try {
                work._wait();
            } catch (RuntimeException e) {
                throw failure(e);
            } finally {
                release();
            }
        }

        @Override
        public boolean isDone() {
            return awaited || work.isCompleted();
        }

        private DistributedException failure(RuntimeException e) {
            return new DistributedException("rank " + rank + ": " + what + " failed: "
                    + heartbeats.diagnose(sequence, what) + " (Gloo: " + firstLine(e) + ")", e);
        }

        private void release() {
            for (int i = held.size() - 1; i >= 0; i--) {
                held.get(i).close();
            }
            held.clear();
        }
    }

    /** The first line of a native error, without the source-file prefix c10d puts before it. */
    static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        m = m.strip();
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        return m.replaceFirst("^\\[[^\\]]*\\.(cc|cpp|h):\\d+\\]\\s*", "");
    }

    @Override
    public void close() {
        heartbeats.close();
        group.close();
        store.close();
    }

}
