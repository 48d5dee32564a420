package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.GenerationResult;
import org.splitlora.model.generate.Generator;
import org.splitlora.testutil.Fixtures;

/** Decoding strategies on the real stories260K model. */
@Tag("fixtures")
class GenerationTest {

    static NDManager root;
    static DecoderModel model;
    static Generator gen;
    static final int[] PROMPT = {1, 403, 407, 261, 378};

    @BeforeAll
    static void load() {
        root = NDManager.newBaseManager();
        model = ModelSource.of(Fixtures.stories260k().toString()).loadWhole(root);
        gen = new Generator(model, null);
    }

    @AfterAll
    static void close() {
        model.close();
        root.close();
    }

    @Test
    void kvCacheDecodingEqualsFullRecomputation() {
        GenerationResult r = gen.generate(PROMPT, GenerationConfig.greedy(20, Set.of()));
        int[] seq = PROMPT.clone();
        for (int step = 0; step < 20; step++) {
            float[][] logits = ModelTestSupport.logits(model, null, seq);
            int next = ModelTestSupport.topK(logits[seq.length - 1], 1)[0];
            assertEquals(next, r.tokens()[step], "token " + step);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
        }
    }

    @Test
    void beamOfOneEqualsGreedy() {
        GenerationResult greedy = gen.generate(PROMPT, GenerationConfig.greedy(30, Set.of(2)));
        GenerationResult beam = gen.generate(PROMPT, GenerationConfig.beam(30, 1, 1.0, 0, Set.of(2)));
        assertArrayEquals(greedy.tokens(), beam.tokens());
    }

    @Test
    void widerBeamsScoreAtLeastAsWellAsGreedy() {
        GenerationResult greedy = gen.generate(PROMPT, GenerationConfig.beam(25, 1, 1.0, 0, Set.of()));
        GenerationResult beam = gen.generate(PROMPT, GenerationConfig.beam(25, 4, 1.0, 0, Set.of()));
        assertTrue(beam.score() >= greedy.score() - 1e-5, beam.score() + " vs " + greedy.score());
    }

    /**
     * HF num_return_sequences: the n best hypotheses come best first, and each one's score is its
     * sum of token log-probs, recomputed here by full forward passes without the KV cache, divided
     * by its generated length (the EOS included) to the length penalty.
     */
    @Test
    void nBestBeamsAreOrderedByTheirLengthPenalisedScores() {
        double penalty = 0.8;
        // the greedy story's 5th token as a second EOS, so that hypotheses of different lengths close
        int frequent = gen.generate(PROMPT, GenerationConfig.greedy(8, Set.of())).tokens()[4];
        GenerationConfig cfg = GenerationConfig.beam(24, 5, penalty, 3, Set.of(2, frequent));
        List<GenerationResult> best = gen.generateBeams(PROMPT, cfg, 5);
        assertEquals(5, best.size());
        assertArrayEquals(gen.generate(PROMPT, cfg).tokens(), best.get(0).tokens(), "the first is what generate returns");
        assertTrue(best.stream().anyMatch(GenerationResult::endedWithEos), "some hypotheses ended with an EOS");
        for (int i = 0; i < best.size(); i++) {
            GenerationResult r = best.get(i);
            if (i > 0) {
                assertTrue(r.score() <= best.get(i - 1).score(), "scores do not increase: " + best.get(i - 1).score() + ", " + r.score());
            }
            int[] generated = r.endedWithEos() ? append(r.tokens(), eosOf(r, cfg)) : r.tokens();
            assertEquals(recomputedScore(generated, penalty), r.score(), 1e-3, "hypothesis " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> gen.generateBeams(PROMPT, cfg, 6));
    }

    /** The EOS that closed a hypothesis: the one (of the configured ids) that scores it as reported. */
    private static int eosOf(GenerationResult r, GenerationConfig cfg) {
        double bestGap = Double.POSITIVE_INFINITY;
        int best = -1;
        for (int eos : cfg.eosTokenIds()) {
            double gap = Math.abs(recomputedScore(append(r.tokens(), eos), cfg.lengthPenalty()) - r.score());
            if (gap < bestGap) {
                bestGap = gap;
                best = eos;
            }
        }
        return best;
    }

    /** sum of log p(generated | PROMPT) from one full forward pass (no KV cache), / length^penalty. */
    private static double recomputedScore(int[] generated, double penalty) {
        float[][] logits = ModelTestSupport.logits(model, null, concat(PROMPT, generated));
        double sum = 0;
        for (int t = 0; t < generated.length; t++) {
            sum += logSoftmax(logits[PROMPT.length - 1 + t])[generated[t]];
        }
        return sum / Math.pow(generated.length, penalty);
    }

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double z = 0;
        for (float v : logits) {
            z += Math.exp(v - max);
        }
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - max - Math.log(z);
        }
        return out;
    }

    private static int[] append(int[] a, int v) {
        int[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void noRepeatNgramIsHonoured() {
        GenerationResult r = gen.generate(PROMPT, GenerationConfig.beam(60, 3, 1.0, 3, Set.of()));
        int[] all = new int[PROMPT.length + r.tokens().length];
        System.arraycopy(PROMPT, 0, all, 0, PROMPT.length);
        System.arraycopy(r.tokens(), 0, all, PROMPT.length, r.tokens().length);
        Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i + 3 <= all.length; i++) {
            assertTrue(seen.add(all[i] + "," + all[i + 1] + "," + all[i + 2]), "repeated 3-gram at " + i);
        }
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() {
        GenerationResult a = gen.generate(PROMPT, GenerationConfig.sample(30, 1.0, 0, 0.95, 5, Set.of()));
        GenerationResult b = gen.generate(PROMPT, GenerationConfig.sample(30, 1.0, 0, 0.95, 5, Set.of()));
        GenerationResult c = gen.generate(PROMPT, GenerationConfig.sample(30, 1.0, 0, 0.95, 6, Set.of()));
        assertArrayEquals(a.tokens(), b.tokens());
        assertNotEquals(java.util.Arrays.toString(a.tokens()), java.util.Arrays.toString(c.tokens()));
        GenerationResult k1 = gen.generate(PROMPT, GenerationConfig.sample(30, 0.7, 1, 1.0, 9, Set.of()));
        assertArrayEquals(gen.generate(PROMPT, GenerationConfig.greedy(30, Set.of())).tokens(), k1.tokens());
    }

    @Test
    void eosStopsGeneration() {
        GenerationResult free = gen.generate(PROMPT, GenerationConfig.greedy(15, Set.of()));
        int stopAt = free.tokens()[5];
        GenerationResult stopped = gen.generate(PROMPT, GenerationConfig.greedy(15, Set.of(stopAt)));
        assertTrue(stopped.endedWithEos());
        int first = 0;
        while (free.tokens()[first] != stopAt) {
            first++;
        }
        assertEquals(first, stopped.tokens().length);
    }
}
