package org.splitlora.split;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * Optional protection of the activations a client sends: each token's activation vector is
 * clipped to L2 norm {@code clipNorm}, then Gaussian noise of standard deviation
 * {@code noiseMultiplier · clipNorm} is added (the Gaussian mechanism on a bounded vector). The
 * gradient that comes back is applied to the clean activations (straight-through).
 */
public record ActivationPrivacy(double clipNorm, double noiseMultiplier) implements Serializable {

    private static final long serialVersionUID = 1L;

    public ActivationPrivacy {
        if (!(clipNorm > 0)) {
            throw new IllegalArgumentException("privacy.activationNoise.clipNorm must be > 0, got " + clipNorm);
        }
        if (!(noiseMultiplier >= 0)) {
            throw new IllegalArgumentException("privacy.activationNoise.noiseMultiplier must be >= 0, got " + noiseMultiplier);
        }
    }

    /** Clips and noises {@code values} ([tokens, width] row-major) in place, seeded. */
    public void apply(float[] values, int width, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double sigma = noiseMultiplier * clipNorm;
        for (int base = 0; base < values.length; base += width) {
            double sq = 0;
            for (int i = base; i < base + width; i++) {
                sq += (double) values[i] * values[i];
            }
            double scale = Math.min(1.0, clipNorm / (Math.sqrt(sq) + 1e-12));
            for (int i = base; i < base + width; i++) {
                values[i] = (float) (values[i] * scale + (sigma > 0 ? sigma * gaussian(rng) : 0));
            }
        }
    }

    private static double gaussian(SplittableRandom rng) {
        // Box-Muller; SplittableRandom has no nextGaussian in Java 17
        double u = 1 - rng.nextDouble();
        double v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
