package org.splitlora.model.config;

import java.util.List;

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

    /** Whether {@link #inverseFrequencies} depends on seqLen (then only beyond {@link #lengthThreshold}). */
    default boolean dependsOnLength() {
        return false;
    }

    /**
     * The longest pass whose frequencies are those of seqLen = this length (the model's own
     * tables); a longer pass gets frequencies of its own when {@link #dependsOnLength}.
     */
    default int lengthThreshold(int maxPositions) {
        return maxPositions;
    }

    /**
     * Whether keys cached by passes up to {@link #lengthThreshold} are recomputed once decoding
     * goes beyond it (HF's Phi-3 generation does so for long RoPE, so every key has one set of
     * frequencies); otherwise cached keys keep the frequencies they were rotated with.
     */
    default boolean recomputesCacheBeyondThreshold() {
        return false;
    }

    /** The factor HF multiplies cos and sin by ({@code attention_scaling}); 1 for most variants. */
    default double attentionScaling() {
        return 1.0;
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

    /**
     * rope_type {@code longrope} (Phi-3, Phi-3.5, Phi-4-mini), HF's {@code _compute_longrope_parameters}:
     * each rotary pair's wavelength is stretched by its own factor, {@code short_factor} for passes
     * up to {@code originalMaxPositions} and {@code long_factor} beyond, and cos/sin are scaled by
     * {@code attentionScaling} (HF: √(1 + ln(max / original) / ln(original)) when not given).
     */
    record LongRope(List<Double> shortFactor, List<Double> longFactor, int originalMaxPositions, double attentionScaling)
            implements RopeScaling {
        public LongRope {
            shortFactor = List.copyOf(shortFactor);
            longFactor = List.copyOf(longFactor);
            require(shortFactor.size() == longFactor.size(), "rope_scaling.short_factor has " + shortFactor.size()
                    + " entries but long_factor has " + longFactor.size());
            for (double f : shortFactor) {
                require(f > 0, "rope_scaling.short_factor entries must be > 0, got " + f);
            }
            for (double f : longFactor) {
                require(f > 0, "rope_scaling.long_factor entries must be > 0, got " + f);
            }
            require(originalMaxPositions > 0, "original_max_position_embeddings must be > 0, got " + originalMaxPositions);
            require(attentionScaling > 0, "rope_scaling.attention_factor must be > 0, got " + attentionScaling);
        }

        @Override
        public double[] inverseFrequencies(double theta, int dim, int maxPositions, int seqLen) {
            require(shortFactor.size() == dim / 2, "rope_scaling.short_factor and long_factor need " + dim / 2
                    + " entries (rotary dims / 2), got " + shortFactor.size());
            List<Double> factors = seqLen > originalMaxPositions ? longFactor : shortFactor;
            double[] f = unscaled(theta, dim);
            for (int i = 0; i < f.length; i++) {
                f[i] /= factors.get(i);
            }
            return f;
        }

        @Override
        public boolean dependsOnLength() {
            return true;
        }

        @Override
        public int lengthThreshold(int maxPositions) {
            return originalMaxPositions;
        }

        @Override
        public boolean recomputesCacheBeyondThreshold() {
            return true;
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
