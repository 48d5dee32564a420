package org.splitlora.model.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.LoraTestSupport;
import org.splitlora.model.ModelSource;
import org.splitlora.model.ModelTestSupport;
import org.splitlora.model.TinyHfModels;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.testutil.Fixtures;

/** Export to HF PEFT and back: names, config and, above all, the same logits. */
class PeftAdapterTest {

    @TempDir
    Path tmp;

    @Test
    void gpt2FusedAttentionRoundTripsToTheSameLogits() throws IOException {
        ModelSource source = ModelSource.of(BuiltinModels.TINY_GPT2);
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.O, LoraTarget.DOWN), 4, 32, 0.1);
        JsonObject cfg = roundTrip(source, spec, tmp.resolve("gpt2"));
        assertEquals(4, cfg.get("r").getAsInt());
        assertTrue(cfg.get("fan_in_fan_out").getAsBoolean());
        // c_attn carries q and v: rank 8, alpha 64, so alpha / r stays 32 / 4
        assertEquals(8, cfg.getAsJsonObject("rank_pattern").get("transformer.h.0.attn.c_attn").getAsInt());
        assertEquals(64.0, cfg.getAsJsonObject("alpha_pattern").get("transformer.h.0.attn.c_attn").getAsDouble());
        try (SafetensorsFile st = SafetensorsFile.open(tmp.resolve("gpt2").resolve(PeftAdapter.WEIGHTS))) {
            int d = source.config().hiddenSize();
            assertEquals(List.of(8L, (long) d), boxed(st.shape("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight")));
            assertEquals(List.of(3L * d, 8L), boxed(st.shape("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight")));
            assertTrue(st.contains("base_model.model.transformer.h.3.mlp.c_proj.lora_B.weight"));
            assertTrue(st.contains("base_model.model.transformer.h.3.attn.c_proj.lora_A.weight"));
        }
        assertEquals(Set.of("attn.c_attn", "attn.c_proj", "mlp.c_proj"), targets(cfg));
    }

    @Tag("fixtures")
    @Test
    void llamaWithPerLayerRanksRoundTripsToTheSameLogits() throws IOException {
        ModelSource source = ModelSource.of(Fixtures.stories260k().toString());
        LoraSpec spec = new LoraSpec(EnumSet.allOf(LoraTarget.class), 4, 8, 0.0, Map.of(2, 2));
        JsonObject cfg = roundTrip(source, spec, tmp.resolve("llama"));
        assertEquals(Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), targets(cfg));
        assertEquals(2, cfg.getAsJsonObject("rank_pattern").get("model.layers.2.self_attn.q_proj").getAsInt());
        assertEquals(false, cfg.get("fan_in_fan_out").getAsBoolean());
        try (SafetensorsFile st = SafetensorsFile.open(tmp.resolve("llama").resolve(PeftAdapter.WEIGHTS))) {
            assertEquals(List.of(2L, 64L), boxed(st.shape("base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight")));
            assertEquals(List.of(172L, 4L), boxed(st.shape("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mistral", "qwen2", "qwen3", "gemma2", "gemma3_text"})
    void llamaStyleFamiliesUsePeftsModuleNames(String type) throws IOException {
        JsonObject config = TinyHfModels.config(type, 256, 32, 2, 4, 2, 48, 64, false);
        boolean ownHeadDim = type.equals("qwen3") || type.startsWith("gemma");
        if (ownHeadDim) {
            config.addProperty("head_dim", 12);
        }
        TinyHfModels.write(tmp.resolve(type + "-model"), config, 3);
        ModelSource source = ModelSource.of(tmp.resolve(type + "-model").toString());
        JsonObject cfg = roundTrip(source, LoraSpec.of(EnumSet.allOf(LoraTarget.class), 4, 8, 0.0), tmp.resolve(type));
        assertEquals(Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), targets(cfg));
        assertEquals(false, cfg.get("fan_in_fan_out").getAsBoolean());
        int q = ownHeadDim ? 48 : 32;
        try (SafetensorsFile st = SafetensorsFile.open(tmp.resolve(type).resolve(PeftAdapter.WEIGHTS))) {
            assertEquals(2 * 7 * 2, st.names().size());
            assertEquals(List.of(4L, 32L), boxed(st.shape("base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight")));
            assertEquals(List.of((long) q, 4L), boxed(st.shape("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")));
            assertEquals(List.of(4L, (long) q), boxed(st.shape("base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight")));
            assertEquals(List.of(32L, 4L), boxed(st.shape("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")));
        }
    }

    /**
     * Phi-3's fused modules as PEFT adapts them: one LoRA on qkv_proj and one on gate_up_proj per
     * layer, whose A stacks the adapted projections' A and whose B holds each one's B in that
     * projection's rows (zeros in the rows of projections without an adapter, e.g. k).
     */
    @Test
    void phi3AdaptsItsFusedModulesAsPeftNamesThem() throws IOException {
        JsonObject config = TinyHfModels.config("phi3", 256, 32, 2, 4, 2, 48, 64, false);
        TinyHfModels.write(tmp.resolve("phi3-model"), config, 3);
        ModelSource source = ModelSource.of(tmp.resolve("phi3-model").toString());
        JsonObject all = roundTrip(source, LoraSpec.of(EnumSet.allOf(LoraTarget.class), 4, 8, 0.0), tmp.resolve("phi3"));
        assertEquals(Set.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj"), targets(all));
        // q (32 rows) + k and v (16 each) in qkv_proj; three rank-4 adapters make one of rank 12
        assertEquals(12, all.getAsJsonObject("rank_pattern").get("model.layers.0.self_attn.qkv_proj").getAsInt());
        assertEquals(8, all.getAsJsonObject("rank_pattern").get("model.layers.1.mlp.gate_up_proj").getAsInt());
        try (SafetensorsFile st = SafetensorsFile.open(tmp.resolve("phi3").resolve(PeftAdapter.WEIGHTS))) {
            assertEquals(2 * 4 * 2, st.names().size());
            assertEquals(List.of(12L, 32L), boxed(st.shape("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight")));
            assertEquals(List.of(64L, 12L), boxed(st.shape("base_model.model.model.layers.0.self_attn.qkv_proj.lora_B.weight")));
            assertEquals(List.of(96L, 8L), boxed(st.shape("base_model.model.model.layers.1.mlp.gate_up_proj.lora_B.weight")));
        }
        JsonObject qv = roundTrip(source, LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.UP), 4, 8, 0.0),
                tmp.resolve("phi3-qv"));
        assertEquals(Set.of("qkv_proj", "gate_up_proj"), targets(qv));
        try (SafetensorsFile st = SafetensorsFile.open(tmp.resolve("phi3-qv").resolve(PeftAdapter.WEIGHTS))) {
            float[] b = st.floats("base_model.model.model.layers.0.self_attn.qkv_proj.lora_B.weight");
            // B is [64, 8]: k's rows 32..47 are zero, q's and v's are not
            assertTrue(rowsAbsMax(b, 8, 32, 48) == 0 && rowsAbsMax(b, 8, 0, 32) > 0 && rowsAbsMax(b, 8, 48, 64) > 0);
        }
    }

    private static double rowsAbsMax(float[] m, int cols, int from, int to) {
        double max = 0;
        for (int i = from * cols; i < to * cols; i++) {
            max = Math.max(max, Math.abs(m[i]));
        }
        return max;
    }

    /** Random adapters → PEFT files → adapters again; the logits must agree with the originals. */
    private static JsonObject roundTrip(ModelSource source, LoraSpec spec, Path dir) throws IOException {
        int[] ids = {1, 17, 42, 99, 3, 250, 7, 11};
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, source.config().numLayers(), 5)) {
            LoraTestSupport.randomize(lora, 9, 0.05);
            float[][] expected = ModelTestSupport.logits(model, lora, ids);
            float[][] base = ModelTestSupport.logits(model, null, ids);
            PeftAdapter.write(dir, source.config(), spec, lora.toFloats(), source.spec());
            // the merged HF model directory computes the same logits without adapters
            Path merged = dir.resolveSibling(dir.getFileName() + "-merged");
            MergedModel.write(merged, source, spec, lora.toFloats());
            ModelSource mergedSource = ModelSource.of(merged.toString());
            try (DecoderModel mergedModel = mergedSource.loadWhole(root)) {
                assertClose(expected, ModelTestSupport.logits(mergedModel, null, ids), 1e-4, "merged model");
            }
            try (LoraAdapters back = PeftAdapter.load(dir, source.config(), root)) {
                double effect = 0;
                for (int t = 0; t < ids.length; t++) {
                    for (int v = 0; v < expected[t].length; v++) {
                        effect = Math.max(effect, Math.abs(expected[t][v] - base[t][v]));
                    }
                }
                assertTrue(effect > 1e-2, "the adapters must change the logits for the test to mean anything: " + effect);
                assertClose(expected, ModelTestSupport.logits(model, back, ids), 1e-5, "PEFT round trip");
            }
        }
        JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve(PeftAdapter.CONFIG))).getAsJsonObject();
        assertEquals("LORA", cfg.get("peft_type").getAsString());
        assertEquals("CAUSAL_LM", cfg.get("task_type").getAsString());
        assertEquals(source.spec(), cfg.get("base_model_name_or_path").getAsString());
        return cfg;
    }

    private static void assertClose(float[][] expected, float[][] actual, double tol, String what) {
        double maxDiff = 0;
        for (int t = 0; t < expected.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected[t][v] - actual[t][v]));
            }
        }
        assertTrue(maxDiff < tol, what + ": logits differ by " + maxDiff);
    }

    private static Set<String> targets(JsonObject cfg) {
        Set<String> out = new java.util.TreeSet<>();
        cfg.getAsJsonArray("target_modules").forEach(e -> out.add(e.getAsString()));
        return out;
    }

    private static List<Long> boxed(long[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }
}
