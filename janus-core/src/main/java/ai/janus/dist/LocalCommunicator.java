package ai.janus.dist;

import ai.janus.tensor.Tensor;
import org.bytedeco.javacpp.Pointer;

/**
 * World size 1, the default: every collective is the identity (a copy where output and input
 * differ) and completes at once. Training with it is training on one process.
 */
public final class LocalCommunicator implements Communicator {
    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public Work allReduce(Tensor buffer) {
        Collectives.requireF32("all-reduce", buffer);
        return Work.DONE;
    }

    @Override
    public Work reduceScatter(Tensor output, Tensor input) {
        Collectives.requireF32("reduce-scatter", output);
        Collectives.requireParts("reduce-scatter", input, output, 1);
        copy(output, input);
        return Work.DONE;
    }

    @Override
    public Work allGather(Tensor output, Tensor input) {
        Collectives.requireParts("all-gather", output, input, 1);
        copy(output, input);
        return Work.DONE;
    }

    @Override
    public Work broadcast(Tensor buffer, int root) {
        Collectives.requireRank(root, 1);
        return Work.DONE;
    }

    @Override
    public Work barrier() {
        return Work.DONE;
    }

    @Override
    public double[] allGather(double[] values) {
        return values.clone();
    }

    private static void copy(Tensor to, Tensor from) {
        Pointer dst = to.storage().pointer(to.byteOffset()), src = from.storage().pointer(from.byteOffset());
        if (dst.address() != src.address()) {
            Pointer.memcpy(dst, src, to.byteSize());
        }
    }

    @Override
    public void close() {}
}
