package ai.janus.optim;

import static ai.janus.optim.OptimTesting.spec;
import static ai.janus.optim.TorchOracle.relativeError;
import static ai.janus.optim.TorchOracle.torch;
import static ai.janus.optim.TorchOracle.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Global gradient-norm clipping against PyTorch's {@code clip_grad_norm_} written in libtorch
 * ops (the presets do not expose {@code torch::nn::utils::clip_grad_norm_}): per-tensor 2-norms,
 * the 2-norm of those, {@code coef = max_norm / (norm + 1e-6)} clamped to at most 1, every
 * gradient times coef.
 *
 * <p>Tolerance 1e-6 relative: torch sums squares in float32 (pairwise), janus in double, so the
 * norms differ by float32 rounding of a sum over ~40k terms (≈ 1e-7), and each clipped gradient
 * by that plus one rounding.
 */
@SuppressWarnings("try")
class GradClipTest {
    static final double TOLERANCE = 1e-6;
    static final List<ParameterSet.Spec> SPECS = List.of(spec("a", 37, 53), spec("b", 20000), spec("c", 5),
            spec("d", 129, 129));

    @AutoClose
    private static final Parallel parallel = new Parallel(2);

    @Test
    void clipsLikeTorch() {
        try (ParameterSet grads = ParameterSet.allocate(SPECS); PointerScope scope = new PointerScope()) {
            OptimTesting.fillGaussian(grads, new SplittableRandom(3), 0.1);
            TensorVector norms = new TensorVector();
            org.bytedeco.pytorch.Tensor[] tg = new org.bytedeco.pytorch.Tensor[SPECS.size()];
            for (int i = 0; i < SPECS.size(); i++) {
                tg[i] = torch(grads.get(SPECS.get(i).name()));
                norms.push_back(tg[i].norm());
            }
            org.bytedeco.pytorch.Tensor total = torch.stack(norms).norm();
            // Python's max_norm / (total + 1e-6) on a tensor is reciprocal() * max_norm.
            org.bytedeco.pytorch.Tensor coef = torch.clamp(
                    total.add(new Scalar(1e-6)).reciprocal().mul(new Scalar(1.0)),
                    new ScalarOptional(), new ScalarOptional(new Scalar(1.0)));
            double expectedNorm = total.item_double();
            assertTrue(expectedNorm > 1, "the test must clip: norm " + expectedNorm);

            double norm = GradClip.clip(grads, 1.0, parallel);
            assertEquals(expectedNorm, norm, expectedNorm * TOLERANCE);
            double worst = 0;
            for (int i = 0; i < SPECS.size(); i++) {
                double error = relativeError(grads.get(SPECS.get(i).name()).toFloatArray(), values(tg[i].mul(coef)));
                worst = Math.max(worst, error);
                assertTrue(error <= TOLERANCE, SPECS.get(i) + ": relative error " + error);
            }
            System.out.printf("grad clip vs libtorch: norm relative difference %.3g, clipped gradients %.3g%n",
                    Math.abs(norm - expectedNorm) / expectedNorm, worst);
            assertEquals(1.0, GradClip.norm(grads, parallel), 1e-5, "the clipped norm is max_norm");
        }
    }

    @Test
    void belowTheMaxNormNothingChanges() {
        try (ParameterSet grads = ParameterSet.allocate(SPECS)) {
            OptimTesting.fillGaussian(grads, new SplittableRandom(4), 1e-4);
            byte[] before = OptimTesting.bytes(grads.flat());
            double norm = GradClip.clip(grads, 1.0, parallel);
            assertTrue(norm < 1);
            assertArrayEquals(before, OptimTesting.bytes(grads.flat()));
        }
    }

    @Test
    void aNonFiniteNormIsReturnedAndTheGradientsAreLeftAlone() {
        try (ParameterSet grads = ParameterSet.allocate(SPECS)) {
            OptimTesting.fillGaussian(grads, new SplittableRandom(5), 1.0);
            grads.get("b").floats().put(123, Float.POSITIVE_INFINITY);
            byte[] before = OptimTesting.bytes(grads.flat());
            assertEquals(Double.POSITIVE_INFINITY, GradClip.clip(grads, 1.0, parallel));
            assertArrayEquals(before, OptimTesting.bytes(grads.flat()));
            grads.get("c").floats().put(1, Float.NaN);
            assertTrue(Double.isNaN(GradClip.clip(grads, 1.0, parallel)));
        }
    }

    @Test
    void theNormDoesNotDependOnTheThreadCount() {
        try (ParameterSet grads = ParameterSet.allocate(SPECS); Parallel one = new Parallel(1);
             Parallel three = new Parallel(3)) {
            OptimTesting.fillGaussian(grads, new SplittableRandom(6), 1.0);
            assertEquals(GradClip.norm(grads, one), GradClip.norm(grads, three));
        }
    }
}
