package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.GenerationResult;
import org.splitlora.model.generate.Generator;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;

/**
 * The new families in the roles the trainer and generator use them: KV-cache decoding past the
 * sliding window (and, for Phi-3, past long RoPE's switch, where HF recomputes the cache) equals
 * recomputing every step, and client + server segments equal the whole
 * model at every cut (loss and every LoRA gradient).
 */
class DecoderFamiliesTest {

    @TempDir
    Path tmp;

    /**
     * Three layers, window 4 on every (mistral, phi3) or the first two (qwen3, by layer_types), q/k
     * norm for qwen3; gemma2 (soft-caps) and gemma3_text (local RoPE) slide on their default or every
 * other layer; phi3 with fused projections, half-rotary heads and long RoPE switching to its
     * long factors beyond 8 positions (so decoding crosses the switch).
     */
    static JsonObject config(String type) {
        JsonObject c = TinyHfModels.config(type, 61, 32, 3, 4, 2, 48, 64, type.equals("qwen3"));
        c.addProperty("sliding_window", 4);
        if (type.startsWith("gemma")) {
            c.addProperty("head_dim", 8);
        }
        if (type.equals("gemma3_text")) {
            c.addProperty("sliding_window_pattern", 2);
            c.addProperty("rope_local_base_freq", 100.0);
        }
        if (type.equals("phi3")) {
            c.addProperty("original_max_position_embeddings", 8);
            c.addProperty("partial_rotary_factor", 0.5);
            c.add("rope_scaling", DecoderFamiliesReferenceTest.longRope(2, 0.5));
        }
        if (type.equals("qwen3")) {
            c.addProperty("head_dim", 12);
            c.addProperty("use_sliding_window", true);
            JsonArray types = new JsonArray();
            List.of("sliding_attention", "sliding_attention", "full_attention").forEach(types::add);
            c.add("layer_types", types);
        }
        return c;
    }

    private ModelSource tiny(String type) throws Exception {
        Path dir = tmp.resolve(type);
        TinyHfModels.write(dir, config(type), 17);
        return ModelSource.of(dir.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"mistral", "qwen3", "phi3", "gemma2", "gemma3_text"})
    void kvCacheDecodingPastTheWindowEqualsRecomputation(String type) throws Exception {
        ModelSource source = tiny(type);
        int[] prompt = {1, 7, 30, 12, 44, 3};
        try (NDManager root = NDManager.newBaseManager(); DecoderModel model = source.loadWhole(root)) {
            GenerationResult r = new Generator(model, null).generate(prompt, GenerationConfig.greedy(12, Set.of()));
            int[] seq = prompt.clone();
            for (int step = 0; step < 12; step++) {
                float[][] logits = ModelTestSupport.logits(model, null, seq);
                int next = ModelTestSupport.topK(logits[seq.length - 1], 1)[0];
                assertEquals(next, r.tokens()[step], "token " + step);
                seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mistral", "qwen3", "phi3", "gemma2", "gemma3_text"})
    void clientPlusServerEqualsWholeModelAtEveryCut(String type) throws Exception {
        ModelSource source = tiny(type);
        LoraSpec spec = LoraSpec.of(EnumSet.allOf(LoraTarget.class), 2, 4, 0.1);
        int layers = source.config().numLayers();
        List<TokenizedExample> data = LoraTestSupport.sequences(61, 4, 13, 9, 6);
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel whole = source.loadWhole(root);
             LoraAdapters wholeLora = LoraAdapters.init(root, source.config(), spec, 0, layers, 21)) {
            LoraTestSupport.randomize(wholeLora, 8, 0.05);
            Map<String, float[]> values = wholeLora.toFloats();
            LoraTestSupport.LossAndGrads expected = LoraTestSupport.wholeModel(whole, wholeLora, data, true, 99, 0.1);
            double largest = 0;
            for (float[] g : expected.grads().values()) {
                for (float x : g) {
                    largest = Math.max(largest, Math.abs(x));
                }
            }
            assertTrue(largest > 1e-2, "gradients too small to compare: " + largest);
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
}
