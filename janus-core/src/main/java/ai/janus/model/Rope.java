package ai.janus.model;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;

/**
 * RoPE tables in HF's float32 arithmetic (MistralRotaryEmbedding):
 * {@code inv_freq[i] = 1 / theta^(2i/D)}, {@code angle = position · inv_freq[i]},
 * one cos and one sin row per token, D/2 wide (rotate_half uses the same value for j and j+D/2).
 * StrictMath, not Math: the values must not depend on whether the JIT compiled this code (a
 * resumed run starts cold). Each distinct position is computed once (packed sequences repeat them).
 */
public final class Rope {
    private Rope() {}

    /** The (N, D/2) cos and sin tables of {@code positions}; the caller closes both. */
    public static Tensor[] tables(int[] positions, int headDim, double theta) {
        int half = headDim / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            invFreq[i] = 1f / (float) StrictMath.pow(theta, exponent);
        }
        int maxPosition = 0;
        for (int p : positions) {
            maxPosition = Math.max(maxPosition, p);
        }
        float[][] cosOf = new float[maxPosition + 1][], sinOf = new float[maxPosition + 1][];
        Tensor cos = Tensor.allocate(DType.F32, positions.length, half);
        Tensor sin = Tensor.allocate(DType.F32, positions.length, half);
        FloatBuffer c = cos.floats(), s = sin.floats();
        for (int t = 0; t < positions.length; t++) {
            int p = positions[t];
            if (cosOf[p] == null) {
                cosOf[p] = new float[half];
                sinOf[p] = new float[half];
                for (int i = 0; i < half; i++) {
                    float angle = (float) p * invFreq[i];
                    cosOf[p][i] = (float) StrictMath.cos(angle);
                    sinOf[p][i] = (float) StrictMath.sin(angle);
                }
            }
            c.put(t * half, cosOf[p]);
            s.put(t * half, sinOf[p]);
        }
        return new Tensor[] {cos, sin};
    }
}
