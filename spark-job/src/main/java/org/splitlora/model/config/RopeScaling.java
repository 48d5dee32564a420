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

    /**
     * rope_type {@code dynamic} (NTK-aware): beyond maxPositions the base grows with the pass's
     * length, {@code theta · (factor · len / max − (factor − 1))^(dim / (dim − 2))}, as HF's
     * {@code _compute_dynamic_ntk_parameters} with {@code len = max(position_ids) + 1}.
     */
    record DynamicNtk(double factor) implements RopeScaling {
        public DynamicNtk {
            require(factor > 0, "rope_scaling.factor must be > 0, got " + factor);
        }

        @Override
        public double[] inverseFrequencies(double theta, int dim, int maxPositions, int seqLen) {
            int len = Math.max(seqLen, maxPositions);
            double base = theta * Math.pow(factor * len / maxPositions - (factor - 1), (double) dim / (dim - 2));
            return unscaled(base, dim);
        }

        @Override
        public boolean dependsOnLength() {
            return true;
        }
    }

    /**
     * rope_type {@code llama3} (Llama 3.1+), HF's {@code _compute_llama3_parameters}: wavelengths
     * below {@code original / highFreqFactor} keep their frequency, those above
     * {@code original / lowFreqFactor} are divided by {@code factor}, and those between are
     * interpolated smoothly.
     */
    record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions)
            implements RopeScaling {
        public Llama3 {
            require(factor > 0, "rope_scaling.factor must be > 0, got " + factor);
            require(lowFreqFactor > 0 && highFreqFactor > lowFreqFactor, "rope_scaling.high_freq_factor ("
                    + highFreqFactor + ") must exceed low_freq_factor (" + lowFreqFactor + ") > 0");
            require(originalMaxPositions > 0, "rope_scaling.original_max_position_embeddings must be > 0");
        }

        @Override
        public double[] inverseFrequencies(double theta, int dim, int maxPositions, int seqLen) {
            double[] f = unscaled(theta, dim);
            double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
            double highFreqWavelen = originalMaxPositions / highFreqFactor;
            for (int i = 0; i < f.length; i++) {
                double wavelen = 2 * Math.PI / f[i];
                if (wavelen > lowFreqWavelen) {
                    f[i] /= factor;
                } else if (wavelen >= highFreqWavelen) {
                    double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    f[i] = (1 - smooth) * f[i] / factor + smooth * f[i];
                }
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
