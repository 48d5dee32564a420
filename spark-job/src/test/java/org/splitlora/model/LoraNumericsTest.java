package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.testutil.Fixtures;

/** LoRA gradients vs finite differences, merged vs unmerged forward, split vs whole model. */
@Tag("fixtures")
class LoraNumericsTest {

    private static final LoraSpec ALL_TARGETS = LoraSpec.of(EnumSet.allOf(LoraTarget.class), 2, 4, 0.1);
    private static final LoraSpec GPT2_TARGETS = LoraSpec.of(EnumSet.complementOf(EnumSet.of(LoraTarget.GATE)), 2, 4, 0.1);

    @Test
    void gradientsMatchCentralFiniteDifferences() {
        ModelSource source = ModelSource.of(Fixtures.stories260k().toString());
        List<TokenizedExample> data = LoraTestSupport.sequences(512, 7, 12, 9);
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), ALL_TARGETS, 0, 5, 11)) {
            LoraTestSupport.randomize(lora, 3, 0.05);
            Map<String, float[]> base = new TreeMap<>(lora.toFloats());
            Map<String, float[]> grads = LoraTestSupport.wholeModel(model, lora, data, false, 0, 0).grads();
            List<String[]> checked = new ArrayList<>();
            Random rng = new Random(5);
            int count = 0;
            double largest = 0;
            for (String name : base.keySet()) {
                float[] g = grads.get(name);
                // the largest-gradient entry of every tensor plus one random entry
                int big = 0;
                for (int i = 1; i < g.length; i++) {
                    if (Math.abs(g[i]) > Math.abs(g[big])) {
                        big = i;
                    }
                }
                for (int idx : new int[] {big, rng.nextInt(g.length)}) {
                    double h = 1e-2;
                    double up = lossWith(model, lora, data, base, name, idx, h);
                    double down = lossWith(model, lora, data, base, name, idx, -h);
                    double fd = (up - down) / (2 * h);
                    double tol = 2e-3 + 2e-2 * Math.abs(g[idx]);
                    assertEquals(fd, g[idx], tol, name + "[" + idx + "]");
                    largest = Math.max(largest, Math.abs(g[idx]));
                    count++;
                }
            }
            assertEquals(2 * 5 * 7 * 2, count);
            // the tolerance must be small against the gradients it checks
            assertTrue(largest > 0.1, "largest checked gradient " + largest);
            lora.loadFloats(base);
        }
    }

    private static double lossWith(DecoderModel model, LoraAdapters lora, List<TokenizedExample> data,
                                   Map<String, float[]> base, String name, int idx, double h) {
        Map<String, float[]> v = new TreeMap<>(base);
        float[] t = base.get(name).clone();
        t[idx] += (float) h;
        v.put(name, t);
        lora.loadFloats(v);
        return LoraTestSupport.lossOnly(model, lora, data);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260k", "tiny-gpt2"})
    void mergedEqualsUnmerged(String fixture) {
        ModelSource source = ModelSource.of(Fixtures.file("hf/" + fixture).toString());
        LoraSpec spec = fixture.equals("tiny-gpt2") ? GPT2_TARGETS : ALL_TARGETS;
        int[] ids = LoraTestSupport.sequences(Math.min(512, source.config().vocabSize()), 1, 11).get(0).inputIds();
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadPrivate(ModelPart.whole(source.config()), root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, source.config().numLayers(), 2)) {
            LoraTestSupport.randomize(lora, 9, 0.05);
            float[][] base = ModelTestSupport.logits(model, null, ids);
            float[][] unmerged = ModelTestSupport.logits(model, lora, ids);
            model.mergeLora(lora, +1);
            float[][] merged = ModelTestSupport.logits(model, null, ids);
            model.mergeLora(lora, -1);
            float[][] restored = ModelTestSupport.logits(model, null, ids);
            double adapterEffect = maxDiff(base, unmerged);
            assertTrue(adapterEffect > 1e-2, "the adapters should change the logits, changed by " + adapterEffect);
            assertTrue(maxDiff(unmerged, merged) < 1e-4, "merged vs unmerged: " + maxDiff(unmerged, merged));
            assertTrue(maxDiff(base, restored) < 1e-4, "unmerge restores the base: " + maxDiff(base, restored));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260k", "tiny-gpt2"})
    void clientPlusServerEqualsWholeModelAtEveryCut(String fixture) {
        ModelSource source = ModelSource.of(Fixtures.file("hf/" + fixture).toString());
        LoraSpec spec = fixture.equals("tiny-gpt2") ? GPT2_TARGETS : ALL_TARGETS;
        int layers = source.config().numLayers();
        List<TokenizedExample> data = LoraTestSupport.sequences(Math.min(512, source.config().vocabSize()), 4, 14, 10, 7);
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel whole = source.loadWhole(root);
             LoraAdapters wholeLora = LoraAdapters.init(root, source.config(), spec, 0, layers, 21)) {
            LoraTestSupport.randomize(wholeLora, 8, 0.05);
            Map<String, float[]> values = wholeLora.toFloats();
            LoraTestSupport.LossAndGrads expected = LoraTestSupport.wholeModel(whole, wholeLora, data, true, 99, 0.1);
            for (int cut = 1; cut < layers; cut++) {
                try (DecoderModel client = source.load(ModelPart.client(source.config(), cut), root);
                     DecoderModel server = source.load(ModelPart.server(source.config(), cut), root);
                     LoraAdapters cl = LoraAdapters.fromFloats(root, source.config(), spec, 0, cut, values);
                     LoraAdapters sl = LoraAdapters.fromFloats(root, source.config(), spec, cut, layers, values)) {
                    LoraTestSupport.LossAndGrads actual = LoraTestSupport.split(client, cl, server, sl, data, true, 99, 0.1);
                    assertEquals(expected.loss(), actual.loss(), 1e-5, "loss at cut " + cut);
                    assertEquals(expected.grads().keySet(), actual.grads().keySet());
                    for (String k : expected.grads().keySet()) {
                        float[] e = expected.grads().get(k);
                        float[] a = actual.grads().get(k);
                        for (int i = 0; i < e.length; i++) {
                            assertEquals(e[i], a[i], 1e-5, k + "[" + i + "] at cut " + cut);
                        }
                    }
                }
            }
        }
    }

    private static double maxDiff(float[][] a, float[][] b) {
        double m = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                m = Math.max(m, Math.abs(a[t][v] - b[t][v]));
            }
        }
        return m;
    }
}
