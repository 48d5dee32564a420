package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.train.LocalBatchStep;
import org.splitlora.train.Sgd;

/**
 * An SGD holder at a reduced rank steps the global adapters: a rank-2 holder of a rank-4 layer
 * (nested start, one SGD step at lr 1, nested aggregate back) moves the layer's leading two
 * components exactly as one SGD step of the full-rank adapters does, when the two components it
 * does not hold are zero (so both compute the same function). Without the (r/R)² step of B, its
 * B moves 4× too far.
 */
class NestedRankSgdTest {

    @Test
    void aReducedRankSgdStepIsTheFullRankGradientStep() {
        ModelSource source = ModelSource.of(BuiltinModels.TINY_GPT2);
        ModelConfig config = source.config();
        List<TokenizedExample> batch;
        try (TextTokenizer tok = source.tokenizer()) {
            batch = PromptCompletionFormat.encodeE2E(tok, SyntheticE2E.generate(4, 5));
        }
        LoraSpec full = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V), 4, 16, 0);
        LoraSpec reduced = full.withLayerRanks(Map.of(1, 2));
        int layers = config.numLayers();
        try (NDManager root = NDManager.newBaseManager(); DecoderModel model = source.loadWhole(root)) {
            Map<String, float[]> global = randomAdapters(root, config, full, layers);
            Aggregator nested = Aggregators.of("nested", null);
            Map<String, float[]> holderStart = nested.start(global, reduced, 0, layers, config, 1).adapters();
            Map<String, float[]> fullStep = sgdStep(model, config, full, global, batch);
            Map<String, float[]> reducedStep = sgdStep(model, config, reduced, holderStart, batch);
            Map<String, float[]> back = nested.aggregate(
                    List.of(new Aggregator.Holder("rank-2 holder", 1, reducedStep, Aggregator.Role.CLIENT)), global,
                    new Aggregator.Round(config, 1, 0, 1)).adapters();
            for (String key : global.keySet()) {
                float[] want = fullStep.get(key);
                float[] got = back.get(key);
                int io = LoraAdapters.dims(config, LoraAdapters.targetOf(key))[key.endsWith("lora_A") ? 0 : 1];
                boolean reducedLayer = LoraAdapters.layerOf(key) == 1;
                double moved = 0;
                for (int i = 0; i < want.length; i++) {
                    moved = Math.max(moved, Math.abs(want[i] - global.get(key)[i]));
                }
                for (int i = 0; i < want.length; i++) {
                    boolean held = !reducedLayer || (key.endsWith("lora_A") ? i / io < 2 : i % 4 < 2);
                    if (held) {
                        // the steps themselves agree to 0.1 % of the largest one (float32 forward and backward)
                        double wantStep = want[i] - global.get(key)[i];
                        double gotStep = got[i] - global.get(key)[i];
                        assertEquals(wantStep, gotStep, 1e-3 * moved, key + "[" + i + "] step");
                    } else {
                        assertEquals(global.get(key)[i], got[i], 0, key + "[" + i + "]: a component no holder had keeps its value");
                    }
                }
                assertTrue(moved > 1e-6, key + " did not move: the step has no gradient to compare");
            }
        }
    }

    /** Random adapters whose layer-1 components 2 and 3 are zero (B's columns and A's rows). */
    private static Map<String, float[]> randomAdapters(NDManager root, ModelConfig config, LoraSpec spec, int layers) {
        Random rnd = new Random(3);
        Map<String, float[]> out = new TreeMap<>();
        try (LoraAdapters init = LoraAdapters.init(root, config, spec, 0, layers, 3)) {
            init.toFloats().forEach((key, v) -> {
                float[] x = new float[v.length];
                int io = LoraAdapters.dims(config, LoraAdapters.targetOf(key))[key.endsWith("lora_A") ? 0 : 1];
                for (int i = 0; i < x.length; i++) {
                    boolean tail = LoraAdapters.layerOf(key) == 1 && (key.endsWith("lora_A") ? i / io >= 2 : i % 4 >= 2);
                    x[i] = tail ? 0 : (float) (rnd.nextGaussian() * 0.1);
                }
                out.put(key, x);
            });
        }
        return out;
    }

    private static Map<String, float[]> sgdStep(DecoderModel model, ModelConfig config, LoraSpec spec, Map<String, float[]> start,
                                                List<TokenizedExample> batch) {
        try (NDManager m = NDManager.newBaseManager();
             LoraAdapters lora = LoraAdapters.fromFloats(m, config, spec, 0, config.numLayers(), start);
             Sgd sgd = new Sgd(lora, 1)) {
            new LocalBatchStep(model, lora, batch.size(), 0, 1, false).run(batch, 0);
            sgd.step(0, 1);
            return lora.toFloats();
        }
    }
}
