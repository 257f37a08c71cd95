package ai.janus.optim;

import static ai.janus.optim.OptimTesting.spec;
import static ai.janus.optim.TorchOracle.relativeError;
import static ai.janus.optim.TorchOracle.torch;
import static ai.janus.optim.TorchOracle.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * {@link AdamW} against libtorch's {@code torch::optim::AdamW} over 100 steps: same initial
 * weights, same gradients every step, the learning rate of a cosine schedule with warmup set on
 * both each step. Every parameter tensor must stay within {@link #TOLERANCE} of torch's, as
 * max |janus − torch| / max |torch| per tensor, after every step.
 *
 * <p>Tolerance: both sides compute each step in float32 with the same operations; they differ
 * only where the rounding of an operation differs (the scalar tail of a vector loop, ATen's
 * choice of kernel), by an ulp of an intermediate. Such a difference moves a weight by far less
 * than an ulp of the weight and does not grow beyond a few ulps over 100 steps; 1e-6 relative
 * (about 8 float ulps at the tensor's largest weight) is the bound and leaves headroom.
 * The measured error is printed.
 */
@SuppressWarnings("try")
class AdamWTorchTest {
    static final double TOLERANCE = 1e-6;
    static final int STEPS = 100;
    static final List<ParameterSet.Spec> SPECS = List.of(
            spec("w.odd", 37, 53), spec("w.vector", 1000), spec("w.tiny", 7), spec("w.matrix", 129, 65),
            spec("w.two_chunks", 17001));

    @AutoClose
    private static final Parallel parallel = new Parallel(2);

    @Test
    void janusRecipeMatchesLibtorch() {
        compareWithLibtorch(AdamWConfig.janus(), 1e-3);
    }

    @Test
    void weightDecayAndRewardModelBetasMatchLibtorch() {
        compareWithLibtorch(new AdamWConfig(0.9, 0.95, 1e-6, 0.1), 5e-3);
    }

    private static void compareWithLibtorch(AdamWConfig config, double peakLr) {
        LrSchedule schedule = LrSchedule.cosine(peakLr, 10, STEPS);
        SplittableRandom rng = new SplittableRandom(17);
        double worst = 0;
        long equalBits = 0, compared = 0;
        try (ParameterSet params = ParameterSet.allocate(SPECS); ParameterSet grads = params.zerosLike();
             AdamW opt = AdamW.fp32(params, config, parallel); PointerScope scope = new PointerScope()) {
            OptimTesting.fillGaussian(params, rng, 1.0);
            List<org.bytedeco.pytorch.Tensor> torchParams = new ArrayList<>();
            TensorVector vector = new TensorVector();
            for (ParameterSet.Spec s : SPECS) {
                org.bytedeco.pytorch.Tensor t = torch(params.get(s.name()));
                torchParams.add(t);
                vector.push_back(t);
            }
            AdamWOptions options = new AdamWOptions(peakLr);
            // betas is a std::tuple<double, double>: libstdc++ lays it out last element first.
            assertEquals(0.999, options.betas().get(0), "tuple layout of AdamWOptions.betas changed");
            options.betas().put(0, config.beta2()).put(1, config.beta1());
            options.eps().put(config.eps());
            options.weight_decay().put(config.weightDecay()); // torch's default is 0.01
            org.bytedeco.pytorch.AdamW torchAdamW = new org.bytedeco.pytorch.AdamW(vector, options);
            for (int step = 0; step < STEPS; step++) {
                double lr = schedule.lr(step);
                for (int i = 0; i < SPECS.size(); i++) {
                    // Gradient scales vary per tensor and step, with some exact zeros.
                    double scale = Math.pow(10, -3 + 4 * rng.nextDouble());
                    float[] g = new float[Math.toIntExact(SPECS.get(i).numel())];
                    for (int j = 0; j < g.length; j++) {
                        g[j] = j % 97 == 0 ? 0f : (float) (OptimTesting.gaussian(rng) * scale);
                    }
                    grads.get(SPECS.get(i).name()).floats().put(0, g);
                    torchParams.get(i).mutable_grad().put(torch(grads.get(SPECS.get(i).name())));
                }
                torchAdamW.param_groups().get(0).options().set_lr(lr);
                torchAdamW.step();
                opt.step(grads, lr);
                for (int i = 0; i < SPECS.size(); i++) {
                    float[] ours = params.get(SPECS.get(i).name()).toFloatArray(), theirs = values(torchParams.get(i));
                    double error = relativeError(ours, theirs);
                    worst = Math.max(worst, error);
                    int at = step, tensor = i;
                    assertTrue(error <= TOLERANCE, () -> SPECS.get(tensor) + " after step " + (at + 1)
                            + ": relative error " + error + " > " + TOLERANCE);
                    if (step == STEPS - 1) {
                        for (int j = 0; j < ours.length; j++) {
                            equalBits += Float.floatToRawIntBits(ours[j]) == Float.floatToRawIntBits(theirs[j]) ? 1 : 0;
                        }
                        compared += ours.length;
                    }
                }
            }
        }
        System.out.printf("AdamW vs libtorch (%s): worst relative error over %d steps %.3g; after the last step "
                + "%d of %d weights bit-identical%n", config, STEPS, worst, equalBits, compared);
    }

    /** The tolerance helper must fail: one weight off by 1e-5 of the scale is caught, NaN vs number too. */
    @Test
    void relativeErrorCatchesAnOffWeight() {
        float[] expected = {1f, -2f, 0.5f}, actual = {1f, -2f + 2e-5f, 0.5f};
        assertTrue(relativeError(actual, expected) > TOLERANCE);
        assertEquals(0.0, relativeError(expected.clone(), expected));
        assertEquals(Double.POSITIVE_INFINITY, relativeError(new float[] {Float.NaN, 0, 0}, expected));
    }
}
