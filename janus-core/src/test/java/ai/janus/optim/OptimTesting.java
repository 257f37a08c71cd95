package ai.janus.optim;

import ai.janus.model.ParameterSet;
import ai.janus.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/** Parameter sets and random values for the optimizer tests. */
final class OptimTesting {
    private OptimTesting() {}

    static ParameterSet.Spec spec(String name, long... shape) {
        return new ParameterSet.Spec(name, shape);
    }

    /** A standard normal draw (Box-Muller). */
    static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * rng.nextDouble());
    }

    /** Every value of {@code set} drawn from N(0, std²). */
    static void fillGaussian(ParameterSet set, SplittableRandom rng, double std) {
        for (ParameterSet.Spec s : set.specs()) {
            FloatBuffer f = set.get(s.name()).floats();
            for (int i = 0, n = f.capacity(); i < n; i++) {
                f.put(i, (float) (gaussian(rng) * std));
            }
        }
    }

    /** A copy of a set's values (same specs). */
    static ParameterSet copyOf(ParameterSet set) {
        ParameterSet out = set.zerosLike();
        for (ParameterSet.Spec s : set.specs()) {
            out.get(s.name()).bytes().put(set.get(s.name()).bytes());
        }
        return out;
    }

    /** The raw bytes of a tensor. */
    static byte[] bytes(Tensor t) {
        byte[] out = new byte[Math.toIntExact(t.byteSize())];
        t.bytes().get(out);
        return out;
    }
}
