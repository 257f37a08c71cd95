package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import java.util.List;

/**
 * Global L2 gradient-norm clipping (PyTorch's {@code clip_grad_norm_}, the spec's
 * {@code coef = min(1, max_norm / (norm + 1e-6))}): the norm is taken over every gradient of the
 * set as one vector, and every gradient is scaled by the same coefficient.
 *
 * <p>Numerics: squares are summed in double per block of {@value #BLOCK} elements of a tensor
 * (the 8-bit optimizer's block), and the block sums are added in tensor and block order, so the
 * norm depends neither on the thread count nor on how the gradients are sharded: a ZeRO rank holds
 * whole blocks, and the ranks' block sums added in the same order give the same bits
 * ({@link #blockSumsOfSquares}). torch sums in float32, so the two agree to float32 rounding.
 * The scaling is a float multiply by the coefficient rounded to
 * float, as torch's {@code g.mul_(clip_coef)}.
 *
 * <p>Each method comes in two forms: on a {@link Parallel} pool (this class's definition), or on
 * {@link StepKernels} (the GPU's, say), which may add the squares in another fixed order (see
 * {@link StepKernels#sumOfSquares} for the size of the difference) and scale exactly as here.
 */
public final class GradClip {
    /** Added to the norm before dividing, as torch does. */
    public static final double EPS = 1e-6;

    private GradClip() {}

    /** The L2 norm of all gradients together. */
    public static double norm(ParameterSet gradients, Parallel parallel) {
        return Math.sqrt(sumOfSquares(gradients, parallel));
    }

    /** The L2 norm of all gradients together, their squares summed by {@code kernels}. */
    public static double norm(ParameterSet gradients, StepKernels kernels) {
        return Math.sqrt(kernels.sumOfSquares(gradients));
    }

    /** Elements per partial sum: the 8-bit optimizer's block, on which every ZeRO shard boundary falls. */
    public static final int BLOCK = AdamW8bit.BLOCK_SIZE;

    /** Σ g² over all gradients, in double: the {@link #blockSumsOfSquares} added in order. */
    public static double sumOfSquares(ParameterSet gradients, Parallel parallel) {
        double total = 0;
        for (double s : blockSumsOfSquares(gradients, parallel)) {
            total += s;
        }
        return total;
    }

    /**
     * Σ g² of every block of {@value #BLOCK} elements of every tensor (the last one of a tensor
     * possibly shorter), each summed in double from the block's first element, in tensor and
     * block order: ceil(n / 2048) values per tensor of n elements.
     */
    public static double[] blockSumsOfSquares(ParameterSet gradients, Parallel parallel) {
        List<ParameterSet.Spec> specs = gradients.specs();
        List<Chunk> chunks = Chunk.split(specs);
        long[] firstBlock = new long[specs.size() + 1];
        for (int t = 0; t < specs.size(); t++) {
            firstBlock[t + 1] = firstBlock[t] + (specs.get(t).numel() + BLOCK - 1) / BLOCK;
        }
        double[] sums = new double[Math.toIntExact(firstBlock[specs.size()])];
        parallel.forRange(chunks.size(), 1, (from, to) -> {
            float[] g = new float[Chunk.ELEMENTS];
            for (long i = from; i < to; i++) {
                Chunk c = chunks.get((int) i);
                OffHeap.get(gradients.get(specs.get(c.tensor()).name()), c.start(), g, c.length());
                int block = Math.toIntExact(firstBlock[c.tensor()] + c.start() / BLOCK); // chunks hold whole blocks
                for (int b = 0; b < c.length(); b += BLOCK) {
                    double sum = 0;
                    for (int j = b, end = Math.min(c.length(), b + BLOCK); j < end; j++) {
                        sum += (double) g[j] * g[j];
                    }
                    sums[block++] = sum;
                }
            }
        });
        return sums;
    }

    /**
     * Scales every gradient by {@code min(1, maxNorm / (norm + 1e-6))} and returns the norm
     * before clipping. A non-finite norm is returned with the gradients untouched: the caller
     * decides (the trainer stops by default).
     */
    public static double clip(ParameterSet gradients, double maxNorm, Parallel parallel) {
        return clip(gradients, maxNorm, StepKernels.cpu(parallel));
    }

    /** {@link #clip(ParameterSet, double, Parallel)} with the norm and the scaling on {@code kernels}. */
    public static double clip(ParameterSet gradients, double maxNorm, StepKernels kernels) {
        requireMaxNorm(maxNorm);
        double norm = norm(gradients, kernels);
        scale(gradients, norm, maxNorm, kernels);
        return norm;
    }

    /**
     * The scaling of {@link #clip} for a norm taken elsewhere (over several ranks' shards):
     * every gradient times {@code min(1, maxNorm / (norm + 1e-6))}; nothing when the norm is not finite.
     */
    public static void scale(ParameterSet gradients, double norm, double maxNorm, Parallel parallel) {
        scale(gradients, norm, maxNorm, StepKernels.cpu(parallel));
    }

    /** {@link #scale(ParameterSet, double, double, Parallel)} with the multiply on {@code kernels}. */
    public static void scale(ParameterSet gradients, double norm, double maxNorm, StepKernels kernels) {
        requireMaxNorm(maxNorm);
        double coef = maxNorm / (norm + EPS);
        if (!Double.isFinite(norm) || coef >= 1) {
            return;
        }
        kernels.scale(gradients, (float) coef);
    }

    /** Every gradient element times {@code factor}, chunk by chunk on {@code parallel}: the CPU kernels' scale. */
    static void scaleAll(ParameterSet gradients, float factor, Parallel parallel) {
        List<ParameterSet.Spec> specs = gradients.specs();
        List<Chunk> chunks = Chunk.split(specs);
        parallel.forRange(chunks.size(), 1, (from, to) -> {
            float[] g = new float[Chunk.ELEMENTS];
            for (long i = from; i < to; i++) {
                Chunk c = chunks.get((int) i);
                String name = specs.get(c.tensor()).name();
                OffHeap.get(gradients.get(name), c.start(), g, c.length());
                for (int j = 0; j < c.length(); j++) {
                    g[j] *= factor;
                }
                OffHeap.put(gradients.get(name), c.start(), g, c.length());
            }
        });
    }

    private static void requireMaxNorm(double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("max norm must be finite and > 0, got " + maxNorm);
        }
    }
}
