package org.splitlora.split;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Clipping bounds every token's norm; the added noise has the configured spread; seeded. */
class ActivationPrivacyTest {

    @Test
    void clipsEachTokenAndAddsGaussianNoiseOfTheConfiguredScale() {
        int width = 64;
        int tokens = 2000;
        float[] act = new float[width * tokens];
        Random rng = new Random(1);
        for (int i = 0; i < act.length; i++) {
            act[i] = (float) (rng.nextGaussian() * 3);
        }
        float[] clipped = act.clone();
        new ActivationPrivacy(2.0, 0).apply(clipped, width, 7);
        for (int t = 0; t < tokens; t++) {
            double n = 0;
            double orig = 0;
            for (int i = t * width; i < (t + 1) * width; i++) {
                n += clipped[i] * clipped[i];
                orig += act[i] * act[i];
            }
            assertEquals(Math.min(2.0, Math.sqrt(orig)), Math.sqrt(n), 1e-4, "token " + t);
        }
        float[] noisy = act.clone();
        new ActivationPrivacy(2.0, 0.5).apply(noisy, width, 7);
        double sum = 0;
        double sq = 0;
        for (int i = 0; i < act.length; i++) {
            double e = noisy[i] - clipped[i];
            sum += e;
            sq += e * e;
        }
        double mean = sum / act.length;
        double std = Math.sqrt(sq / act.length - mean * mean);
        assertEquals(0, mean, 0.01);
        assertEquals(0.5 * 2.0, std, 0.01, "noise std = noiseMultiplier x clipNorm");
        float[] again = act.clone();
        new ActivationPrivacy(2.0, 0.5).apply(again, width, 7);
        assertArrayEquals(noisy, again, "same seed, same noise");
        assertThrows(IllegalArgumentException.class, () -> new ActivationPrivacy(0, 1));
        assertTrue(new ActivationPrivacy(1, 0).noiseMultiplier() == 0);
    }
}
