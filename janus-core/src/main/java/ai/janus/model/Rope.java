package ai.janus.model;

import ai.janus.tensor.DType;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;

/**
 * RoPE tables in HF's float32 arithmetic (MistralRotaryEmbedding):
 * {@code inv_freq[i] = 1 / theta^(2i/D)}, {@code angle = position · inv_freq[i]},
 * one cos and one sin row per token, D/2 wide (rotate_half uses the same value for j and j+D/2).
 */
public final class Rope {
    private Rope() {}

    /** The (N, D/2) cos and sin tables of {@code positions}; the caller closes both. */
    public static Tensor[] tables(int[] positions, int headDim, double theta) {
        int half = headDim / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            invFreq[i] = 1f / (float) Math.pow(theta, exponent);
        }
        Tensor cos = Tensor.allocate(DType.F32, positions.length, half);
        Tensor sin = Tensor.allocate(DType.F32, positions.length, half);
        FloatBuffer c = cos.floats(), s = sin.floats();
        for (int t = 0; t < positions.length; t++) {
            float p = positions[t];
            for (int i = 0; i < half; i++) {
                float angle = p * invFreq[i];
                c.put(t * half + i, (float) Math.cos(angle));
                s.put(t * half + i, (float) Math.sin(angle));
            }
        }
        return new Tensor[] {cos, sin};
    }
}
