package ai.janus.kernels;

import ai.janus.dist.Collectives;
import ai.janus.dist.Communicator;
import ai.janus.dist.DistributedException;
import ai.janus.dist.KeyValueStore;
import ai.janus.dist.Rendezvous;
import ai.janus.dist.Work;
import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.util.function.Supplier;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;

/**
 * Collectives on NVIDIA GPUs through NCCL ({@code org.bytedeco.cuda.global.nccl}; libnccl.so.2
 * comes from the host, found by the launcher's library path), enqueued on the CUDA stream the
 * caller passes in (the CUDA backend's), so a collective is ordered after the kernels that
 * produced its input without a host synchronisation.
 *
 * <p>Rendezvous: rank 0 creates NCCL's unique id ({@code ncclGetUniqueId}, 128 bytes) and
 * publishes it in the job's {@link KeyValueStore} under {@value #UNIQUE_ID_KEY}; every rank reads
 * it there and calls {@code ncclCommInitRank} on the device of its local rank.
 *
 * <p>Two entry points: {@link #allReduceDevice} and its siblings take device pointers (what the
 * CUDA backend will call); the {@link Communicator} methods take janus host tensors and stage them
 * through a device buffer (copy in, collective, copy out, all on the stream), so that the CPU
 * trainer can run over NCCL today and a world-size-1 NCCL run can be checked against the local one.
 * Each returns a {@link Work} that waits on a CUDA event recorded after the collective.
 */
public final class NcclCommunicator implements Communicator {
    /** The store key of NCCL's unique id (under the rendezvous prefix). */
    public static final String UNIQUE_ID_KEY = "nccl/unique_id";
    /** NCCL_UNIQUE_ID_BYTES, fixed by nccl.h (read here without loading the native library). */
    public static final int UNIQUE_ID_BYTES = 128;

    private final ncclComm comm;
    private final CUstream_st stream;
    private final int rank;
    private final int worldSize;

    private NcclCommunicator(ncclComm comm, CUstream_st stream, int rank, int worldSize) {
        this.comm = comm;
        this.stream = stream;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /**
     * Joins the NCCL communicator of {@code rendezvous}'s job on GPU {@link #device}(rendezvous),
     * enqueuing on {@code stream} (null: the legacy default stream).
     */
    public static NcclCommunicator create(KeyValueStore store, Rendezvous rendezvous, CUstream_st stream) {
        requireNccl();
        check(cudart.cudaSetDevice(device(rendezvous)), "cudaSetDevice(" + device(rendezvous) + ")");
        byte[] id = exchangeUniqueId(store, rendezvous.rank(), NcclCommunicator::newUniqueId);
        ncclComm comm = new ncclComm();
        try (ncclUniqueId uid = new ncclUniqueId()) {
            uid.internal().put(id, 0, UNIQUE_ID_BYTES);
            nccl(nccl.ncclCommInitRank(comm, rendezvous.worldSize(), uid, rendezvous.rank()),
                    "ncclCommInitRank(rank " + rendezvous.rank() + " of " + rendezvous.worldSize() + ")");
        }
        return new NcclCommunicator(comm, stream, rendezvous.rank(), rendezvous.worldSize());
    }

    /** The GPU a rank drives: its local rank (one process per GPU, as torchrun and srun start them). */
    public static int device(Rendezvous rendezvous) {
        return rendezvous.localRank();
    }

    /**
     * The unique id every rank uses: rank 0 makes it with {@code create} and publishes it; the
     * others wait for it in the store (up to the store's timeout). A value of another length is
     * refused: it was not written by this code.
     */
    public static byte[] exchangeUniqueId(KeyValueStore store, int rank, Supplier<byte[]> create) {
        byte[] id;
        if (rank == 0) {
            id = create.get();
            store.set(UNIQUE_ID_KEY, id);
        } else {
            id = store.get(UNIQUE_ID_KEY);
        }
        if (id.length != UNIQUE_ID_BYTES) {
            throw new DistributedException("rank " + rank + ": the NCCL unique id in the store has " + id.length
                    + " bytes, not " + UNIQUE_ID_BYTES);
        }
        return id;
    }

    private static byte[] newUniqueId() {
        try (ncclUniqueId uid = new ncclUniqueId()) {
            nccl(nccl.ncclGetUniqueId(uid), "ncclGetUniqueId");
            byte[] id = new byte[UNIQUE_ID_BYTES];
            uid.internal().get(id);
            return id;
        }
    }

    /** Throws a one-line error when CUDA or libnccl.so.2 cannot be loaded here. */
    public static void requireNccl() {
        CudaProbe.Result cuda = CudaProbe.probe();
        if (!cuda.available()) {
            throw new DistributedException("NCCL needs a GPU: " + cuda);
        }
        try {
            Loader.load(nccl.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new DistributedException("cannot load NCCL (libnccl.so.2; bin/janus looks for it, or add its folder to "
                    + "JANUS_CUDA_LIBS): " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------------ device pointers

    /** {@code recv ← Σ_ranks send} over {@code count} elements of {@code dtype} (F32 or BF16) in device memory. */
    public Work allReduceDevice(Pointer send, Pointer recv, long count, DType dtype) {
        nccl(nccl.ncclAllReduce(send, recv, count, ncclType(dtype), nccl.ncclSum, comm, stream), "ncclAllReduce");
        return recordEvent();
    }

    /** {@code recv (count) ← part rank of Σ_ranks send (worldSize × count)} in device memory. */
    public Work reduceScatterDevice(Pointer send, Pointer recv, long count, DType dtype) {
        nccl(nccl.ncclReduceScatter(send, recv, count, ncclType(dtype), nccl.ncclSum, comm, stream), "ncclReduceScatter");
        return recordEvent();
    }

    /** {@code recv (worldSize × count) ← send of every rank} in device memory. */
    public Work allGatherDevice(Pointer send, Pointer recv, long count, DType dtype) {
        nccl(nccl.ncclAllGather(send, recv, count, ncclType(dtype), comm, stream), "ncclAllGather");
        return recordEvent();
    }

    /** {@code recv ← send of root} in device memory. */
    public Work broadcastDevice(Pointer send, Pointer recv, long count, DType dtype, int root) {
        nccl(nccl.ncclBroadcast(send, recv, count, ncclType(dtype), root, comm, stream), "ncclBroadcast");
        return recordEvent();
    }

    private static int ncclType(DType dtype) {
        return switch (dtype) {
            case F32 -> nccl.ncclFloat32;
            case BF16 -> nccl.ncclBfloat16;
            default -> throw new IllegalArgumentException("NCCL collectives here take F32 or BF16, not " + dtype);
        };
    }

    /** A Work that waits for everything enqueued on the stream so far, then checks NCCL's async error. */
    private Work recordEvent() {
        CUevent_st event = new CUevent_st();
        check(cudart.cudaEventCreate(event), "cudaEventCreate");
        check(cudart.cudaEventRecord(event, stream), "cudaEventRecord");
        return new Work() {
            private boolean done;

            @Override
            public void await() {
                if (done) {
                    return;
                }
                done = true;
                try {
                    check(cudart.cudaEventSynchronize(event), "cudaEventSynchronize");
                    int[] async = new int[1];
                    nccl(nccl.ncclCommGetAsyncError(comm, async), "ncclCommGetAsyncError");
                    nccl(async[0], "a collective of rank " + rank);
                } finally {
                    cudart.cudaEventDestroy(event);
                }
            }

            @Override
            public boolean isDone() {
                return done || cudart.cudaEventQuery(event) == cudart.cudaSuccess;
            }
        };
    }

    // ---------------------------------------------------------------- host tensors, staged

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
        return "nccl";
    }

    @Override
    public Work allReduce(Tensor buffer) {
        try (Staged s = new Staged(buffer.byteSize())) {
            s.in(buffer, 0);
            allReduceDevice(s.device, s.device, buffer.numel(), f32(buffer));
            s.out(buffer, 0);
        }
        return Work.DONE;
    }

    @Override
    public Work reduceScatter(Tensor output, Tensor input) {
        Collectives.requireParts("reduce-scatter", input, output, worldSize);
        try (Staged s = new Staged(input.byteSize() + output.byteSize())) {
            s.in(input, 0);
            reduceScatterDevice(s.device, s.at(input.byteSize()), output.numel(), f32(output));
            s.out(output, input.byteSize());
        }
        return Work.DONE;
    }

    @Override
    public Work allGather(Tensor output, Tensor input) {
        Collectives.requireParts("all-gather", output, input, worldSize);
        try (Staged s = new Staged(input.byteSize() + output.byteSize())) {
            s.in(input, 0);
            allGatherDevice(s.device, s.at(input.byteSize()), input.numel(), input.dtype());
            s.out(output, input.byteSize());
        }
        return Work.DONE;
    }

    @Override
    public Work broadcast(Tensor buffer, int root) {
        Collectives.requireRank(root, worldSize);
        try (Staged s = new Staged(buffer.byteSize())) {
            s.in(buffer, 0);
            broadcastDevice(s.device, s.device, buffer.numel(), buffer.dtype(), root);
            s.out(buffer, 0);
        }
        return Work.DONE;
    }

    @Override
    public Work barrier() {
        try (Tensor one = Tensor.allocate(DType.F32, 1)) {
            return allReduce(one);
        }
    }

    @Override
    public double[] allGather(double[] values) {
        double[] out = new double[Math.multiplyExact(values.length, worldSize)];
        long bytes = 8L * values.length;
        try (Staged s = new Staged(bytes * (worldSize + 1)); DoublePointer host = new DoublePointer(out.length)) {
            host.put(values);
            check(cudart.cudaMemcpyAsync(s.device, host, bytes, cudart.cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
            // doubles travel as twice as many floats: a gather moves bits, it does not add them
            allGatherDevice(s.device, s.at(bytes), 2L * values.length, DType.F32);
            check(cudart.cudaMemcpyAsync(host, s.at(bytes), bytes * worldSize, cudart.cudaMemcpyDeviceToHost, stream),
                    "cudaMemcpyAsync");
            check(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
            host.get(out);
        }
        return out;
    }

    private static DType f32(Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("NCCL sums F32 buffers here, got " + t);
        }
        return DType.F32;
    }

    /** A device buffer for one staged collective; closing waits for the stream and frees it. */
    private final class Staged implements AutoCloseable {
        final Pointer device = new Pointer();

        Staged(long bytes) {
            check(cudart.cudaMalloc(device, Math.max(1, bytes)), "cudaMalloc(" + bytes + ")");
        }

        Pointer at(long offset) {
            return new BytePointer(device).position(offset);
        }

        void in(Tensor t, long offset) {
            check(cudart.cudaMemcpyAsync(at(offset), t.storage().pointer(t.byteOffset()), t.byteSize(),
                    cudart.cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
        }

        void out(Tensor t, long offset) {
            check(cudart.cudaMemcpyAsync(t.storage().pointer(t.byteOffset()), at(offset), t.byteSize(),
                    cudart.cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
        }

        @Override
        public void close() {
            check(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
            cudart.cudaFree(device);
        }
    }

    private static void check(int status, String what) {
        if (status != cudart.cudaSuccess) {
            throw new DistributedException(what + " failed: " + cudart.cudaGetErrorString(status).getString());
        }
    }

    private static void nccl(int status, String what) {
        if (status != nccl.ncclSuccess) {
            throw new DistributedException(what + " failed: " + nccl.ncclGetErrorString(status).getString());
        }
    }

    @Override
    public void close() {
        nccl.ncclCommDestroy(comm);
    }

}
