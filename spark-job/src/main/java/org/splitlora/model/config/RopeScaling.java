package org.splitlora.model.config;

/**
 * A RoPE variant (HF's {@code rope_type}): the inverse frequencies of the rotary pairs, which some
 * variants derive from the length of the pass.
 */
public interface RopeScaling {

    /**
     * HF's {@code inv_freq} for rotary width {@code dim} and base {@code theta}, for a pass whose
     * positions reach {@code seqLen - 1}, of a model trained for {@code maxPositions}.
     */
    double[] inverseFrequencies(double theta, int dim, int maxPositions, int seqLen);

    /** Whether {@link #inverseFrequencies} depends on seqLen (then only beyond maxPositions). */
    default boolean dependsOnLength() {
        return false;
    }

    /** HF's default RoPE: {@code 1 / theta^(2i/dim)}. */
    static double[] unscaled(double theta, int dim) {
        double[] f = new double[dim / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = 1.0 / Math.pow(theta, (2.0 * i) / dim);
        }
        return f;
    }

    /** rope_type {@code default} (or no rope_scaling). */
    record None() implements RopeScaling {
        @Override
        public double[] inverseFrequencies(double theta, int dim, int maxPositions, int seqLen) {
            return unscaled(theta, dim);
        }
    }

    /** rope_type {@code linear}: positions divided by {@code factor}, i.e. inv_freq / factor. */
    record Linear(double factor) implements RopeScaling {
        public Linear {
            require(factor > 0, "rope_scaling.factor must be > 0, got " + factor);
        }

        @Override
        public double[] inverseFrequencies(double theta, int dim, int maxPositions, int seqLen) {
            double[] f = unscaled(theta, dim);
            for (int i = 0; i < f.length; i++) {
                f[i] /= factor;
            }
            return f;
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
