package ai.janus.optim;

import static ai.janus.optim.OptimTesting.spec;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.janus.model.ParameterSet;
import ai.janus.parallel.Parallel;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * 8-bit AdamW tracks 32-bit AdamW on a small least-squares problem: fit y = W·x + b (W 64 × 192,
 * 8-bit state; b 64, fp32 state) to 256 noisy samples of a random linear map, 300 steps of a
 * cosine schedule with warmup (peak 0.05), the same start, each optimizer on the gradients of its
 * own weights. The loss falls from 62 to about 0.004.
 *
 * <p>Tolerance {@link #TRACKING}: at every step the 8-bit run's loss is within 10% of the 32-bit
 * run's. Measured: within 0.3% for the first 25 steps, the gap then grows to 5.8% as the loss
 * falls 15,000-fold, with the 8-bit run slightly ahead (final 0.00409 against 0.00434). Why this
 * is acceptable: the 8-bit moments carry a quantization error of up to half a code step (about
 * 0.7% of the block's largest moment near the top of the map, a few percent of small moments),
 * which perturbs the update direction like noise rather than biasing it; the trajectories stay
 * together, and the difference is far smaller than that of a modest hyper-parameter change (the
 * control: 32-bit AdamW with a 20% smaller learning rate is 303% away at its worst step, and the
 * test requires the control to exceed the tolerance, so the tolerance can fail).
 */
class LeastSquaresTrackingTest {
    /** Largest relative loss difference at any step, 8-bit against 32-bit. */
    static final double TRACKING = 0.10;
    static final int IN = 192, OUT = 64, SAMPLES = 256, STEPS = 300;
    static final List<ParameterSet.Spec> SPECS = List.of(spec("w", OUT, IN), spec("b", OUT));

    private static Parallel parallel;
    private static float[][] x, y;

    @BeforeAll
    static void start() {
        parallel = new Parallel(2);
        SplittableRandom rng = new SplittableRandom(21);
        double[][] w = new double[OUT][IN];
        double[] b = new double[OUT];
        for (int o = 0; o < OUT; o++) {
            b[o] = OptimTesting.gaussian(rng);
            for (int i = 0; i < IN; i++) {
                w[o][i] = OptimTesting.gaussian(rng) / Math.sqrt(IN);
            }
        }
        x = new float[SAMPLES][IN];
        y = new float[SAMPLES][OUT];
        for (int n = 0; n < SAMPLES; n++) {
            for (int i = 0; i < IN; i++) {
                x[n][i] = (float) OptimTesting.gaussian(rng);
            }
            for (int o = 0; o < OUT; o++) {
                double s = b[o] + 0.01 * OptimTesting.gaussian(rng);
                for (int i = 0; i < IN; i++) {
                    s += w[o][i] * x[n][i];
                }
                y[n][o] = (float) s;
            }
        }
    }

    @AfterAll
    static void stop() {
        parallel.close();
    }

    /** loss = Σ |W·x + b − y|² / (2N); writes dW = Σ r·xᵀ / N and db = Σ r / N into grads. */
    static double lossAndGradients(ParameterSet params, ParameterSet grads) {
        FloatBuffer w = params.get("w").floats(), b = params.get("b").floats();
        double[] dw = new double[OUT * IN], db = new double[OUT];
        double loss = 0;
        for (int n = 0; n < SAMPLES; n++) {
            for (int o = 0; o < OUT; o++) {
                double r = b.get(o) - y[n][o];
                for (int i = 0; i < IN; i++) {
                    r += (double) w.get(o * IN + i) * x[n][i];
                }
                loss += r * r;
                db[o] += r;
                for (int i = 0; i < IN; i++) {
                    dw[o * IN + i] += r * x[n][i];
                }
            }
        }
        FloatBuffer gw = grads.get("w").floats(), gb = grads.get("b").floats();
        for (int k = 0; k < dw.length; k++) {
            gw.put(k, (float) (dw[k] / SAMPLES));
        }
        for (int o = 0; o < OUT; o++) {
            gb.put(o, (float) (db[o] / SAMPLES));
        }
        return loss / (2 * SAMPLES);
    }

    /** The loss before each step and after the last, for an optimizer built on fresh parameters. */
    static double[] train(Function<ParameterSet, Optimizer> optimizer, double peakLr) {
        LrSchedule schedule = LrSchedule.cosine(peakLr, 10, STEPS);
        double[] losses = new double[STEPS + 1];
        try (ParameterSet params = ParameterSet.allocate(SPECS); ParameterSet grads = params.zerosLike();
             Optimizer opt = optimizer.apply(params)) {
            OptimTesting.fillGaussian(params, new SplittableRandom(22), 0.01);
            for (int t = 0; t < STEPS; t++) {
                losses[t] = lossAndGradients(params, grads);
                opt.step(grads, schedule.lr(t));
            }
            losses[STEPS] = lossAndGradients(params, grads);
        }
        return losses;
    }

    /** max over steps of |a − b| / b. */
    static double maxRelativeGap(double[] a, double[] b) {
        double worst = 0;
        for (int t = 0; t < a.length; t++) {
            worst = Math.max(worst, Math.abs(a[t] - b[t]) / b[t]);
        }
        return worst;
    }

    @Test
    void eightBitTracksThirtyTwoBit() {
        AdamWConfig config = AdamWConfig.janus();
        double[] fp32 = train(p -> AdamW.fp32(p, config, parallel), 5e-2);
        double[] int8 = train(p -> AdamW8bit.fp32(p, config, parallel), 5e-2);
        double[] slower = train(p -> AdamW.fp32(p, config, parallel), 4e-2);
        double gap = maxRelativeGap(int8, fp32), controlGap = maxRelativeGap(slower, fp32);
        System.out.printf("least squares: loss %.4g -> 32-bit %.4g, 8-bit %.4g; max per-step loss gap 8-bit vs 32-bit"
                + " %.3g; 32-bit with 0.8x lr vs 32-bit %.3g%n", fp32[0], fp32[STEPS], int8[STEPS], gap, controlGap);
        assertTrue(fp32[STEPS] < 1e-3 * fp32[0], "32-bit AdamW must solve the problem: " + fp32[STEPS]);
        assertTrue(gap <= TRACKING, "8-bit AdamW left the 32-bit trajectory: loss gap " + gap);
        assertTrue(controlGap > TRACKING, "the tolerance does not even notice a 20% smaller learning rate");
    }
}
