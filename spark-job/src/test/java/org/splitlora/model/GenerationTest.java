package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.GenerationResult;
import org.splitlora.model.generate.Generator;
import org.splitlora.testutil.Fixtures;

/** Decoding strategies on the real stories260K model. */
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
