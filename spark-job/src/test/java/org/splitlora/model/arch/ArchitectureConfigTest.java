package org.splitlora.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.RopeScaling;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.weights.ModelLoadException;

/** config.json as the HF hub has it for the supported families, and the keys we refuse by name. */
class ArchitectureConfigTest {

    /** meta-llama/Llama-3.2-1B. */
    static final String LLAMA_3_2_1B = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
             "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
             "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
             "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
             "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
             "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
             "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.45.0.dev0",
             "use_cache": true, "vocab_size": 128256}""";

    /** TinyLlama/TinyLlama-1.1B-Chat-v1.0. */
    static final String TINYLLAMA = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1, "eos_token_id": 2,
             "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632,
             "max_position_embeddings": 2048, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22,
             "num_key_value_heads": 4, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null,
             "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
             "transformers_version": "4.35.0", "use_cache": true, "vocab_size": 32000}""";

    /** Qwen/Qwen2.5-0.5B-Instruct. */
    static final String QWEN2_5 = """
            {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
             "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
             "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2",
             "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
             "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
             "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}""";

    /** Qwen/Qwen3-0.6B. */
    static final String QWEN3 = """
            {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
             "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960,
             "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28,
             "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
             "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
             "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}""";

    /** mistralai/Mistral-7B-v0.1. */
    static final String MISTRAL = """
            {"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
             "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
             "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000}""";

    /** microsoft/Phi-3-mini-4k-instruct. */
    static final String PHI3_MINI_4K = """
            {"_name_or_path": "Phi-3-mini-4k-instruct", "architectures": ["Phi3ForCausalLM"], "attention_dropout": 0.0,
             "auto_map": {"AutoConfig": "configuration_phi3.Phi3Config", "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"},
             "bos_token_id": 1, "embd_pdrop": 0.0, "eos_token_id": 32000, "hidden_act": "silu", "hidden_size": 3072,
             "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 4096, "model_type": "phi3",
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
             "original_max_position_embeddings": 4096, "pad_token_id": 32000, "resid_pdrop": 0.0, "rms_norm_eps": 1e-05,
             "rope_scaling": null, "rope_theta": 10000.0, "sliding_window": 2047, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "transformers_version": "4.40.2", "use_cache": true, "attention_bias": false,
             "vocab_size": 32064}""";

    /**
     * microsoft/Phi-4-mini-instruct, its keys and values as on the hub except the 48 short and 48
     * long RoPE factors, which {@link #phi4Mini} fills in with made-up values.
     */
    static final String PHI4_MINI = """
            {"architectures": ["Phi3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "auto_map": {"AutoConfig": "configuration_phi3.Phi3Config", "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"},
             "bos_token_id": 199999, "embd_pdrop": 0.0, "eos_token_id": 199999, "full_attn_mod": 1, "hidden_act": "silu",
             "hidden_size": 3072, "initializer_range": 0.02, "intermediate_size": 8192, "interpolate_factor": 1,
             "lm_head_bias": false, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "phi3",
             "num_attention_heads": 24, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "original_max_position_embeddings": 4096, "pad_token_id": 199999, "partial_rotary_factor": 0.75,
             "resid_pdrop": 0.0, "rms_norm_eps": 1e-05, "rope_scaling": {"long_factor": [], "short_factor": [],
             "type": "longrope"}, "rope_theta": 10000.0, "sliding_window": 262144, "tie_word_embeddings": true,
             "torch_dtype": "bfloat16", "transformers_version": "4.45.0", "use_cache": true, "vocab_size": 200064}""";

    static String phi4Mini() {
        return edit(PHI4_MINI, o -> {
            for (int i = 0; i < 48; i++) {
                o.getAsJsonObject("rope_scaling").getAsJsonArray("short_factor").add(1 + 0.01 * i);
                o.getAsJsonObject("rope_scaling").getAsJsonArray("long_factor").add(1 + i);
            }
        });
    }

    /** google/gemma-2-2b. */
    static final String GEMMA2_2B = """
            {"architectures": ["Gemma2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "attn_logit_softcapping": 50.0, "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": 1,
             "final_logit_softcapping": 30.0, "head_dim": 256, "hidden_act": "gelu_pytorch_tanh",
             "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 2304, "initializer_range": 0.02,
             "intermediate_size": 9216, "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 8,
             "num_hidden_layers": 26, "num_key_value_heads": 4, "pad_token_id": 0, "query_pre_attn_scalar": 256,
             "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "sliding_window": 4096, "torch_dtype": "float32",
             "transformers_version": "4.42.4", "use_cache": true, "vocab_size": 256000}""";

    /** google/gemma-3-1b-it. */
    static final String GEMMA3_1B = """
            {"architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "attn_logit_softcapping": null, "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": [1, 106],
             "final_logit_softcapping": null, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152,
             "initializer_range": 0.02, "intermediate_size": 6912, "max_position_embeddings": 32768,
             "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1,
             "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000,
             "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512, "sliding_window_pattern": 6,
             "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0", "use_cache": true, "vocab_size": 262144}""";

    /** openai-community/gpt2. */
    static final String GPT2 = """
            {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
             "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
             "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
             "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "summary_activation": null,
             "summary_first_dropout": 0.1, "summary_proj_to_labels": true, "summary_type": "cls_index",
             "summary_use_proj": true, "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
             "vocab_size": 50257}""";

    @TempDir
    Path tmp;

    static ModelConfig parse(String json) {
        return Architectures.parse(new HfConfigJson(JsonParser.parseString(json).getAsJsonObject()));
    }

    static String refused(String json) {
        return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
    }

    static String edit(String json, java.util.function.Consumer<JsonObject> change) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        change.accept(o);
        return o.toString();
    }

    @Test
    void hubConfigsOfTheSupportedFamiliesParse() {
        ModelConfig llama = parse(LLAMA_3_2_1B);
        assertEquals("llama", llama.architecture().modelType());
        assertEquals(64, llama.headDim());
        assertEquals(8, llama.numKvHeads());
        assertTrue(llama.tieWordEmbeddings());
        assertEquals(new ModelConfig.Rope(500000, new RopeScaling.Llama3(32, 1, 4, 8192)), llama.rope());
        assertEquals(Set.of(), llama.biasedProjections());

        ModelConfig tiny = parse(TINYLLAMA);
        assertInstanceOf(RopeScaling.None.class, tiny.rope().scaling());
        assertEquals(22, tiny.numLayers());

        ModelConfig qwen2 = parse(QWEN2_5);
        assertEquals(EnumSet.of(LoraTarget.Q, LoraTarget.K, LoraTarget.V), qwen2.biasedProjections());
        assertEquals(ModelConfig.fullAttention(24), qwen2.slidingWindows(), "use_sliding_window is false");
        assertEquals(64, qwen2.headDim());

        ModelConfig qwen3 = parse(QWEN3);
        assertEquals(128, qwen3.headDim());
        assertEquals(16, qwen3.numHeads());
        assertEquals(ModelConfig.fullAttention(28), qwen3.slidingWindows());
        // Qwen3Config's head_dim default is 128, not hidden / heads
        assertEquals(128, parse(edit(QWEN3, o -> o.remove("head_dim"))).headDim());

        ModelConfig mistral = parse(MISTRAL);
        assertEquals(java.util.Collections.nCopies(32, 4096), mistral.slidingWindows());
        assertEquals(Set.of(), mistral.biasedProjections());
        // HF's MistralConfig: an absent sliding_window is 4096, null is none
        assertEquals(java.util.Collections.nCopies(32, 4096), parse(edit(MISTRAL, o -> o.remove("sliding_window"))).slidingWindows());
        assertEquals(ModelConfig.fullAttention(32), parse(edit(MISTRAL, o -> o.add("sliding_window", null))).slidingWindows());

        ModelConfig gpt2 = parse(GPT2);
        assertNull(gpt2.rope());
        assertEquals(1024, gpt2.maxPositions());
        assertEquals(EnumSet.complementOf(EnumSet.of(LoraTarget.GATE)), gpt2.architecture().loraTargets());
    }

    @Test
    void phi3ConfigsParseWithTheirFusedModulesPartialRotaryAndLongRope() {
        ModelConfig mini = parse(PHI3_MINI_4K);
        assertEquals("phi3", mini.architecture().modelType());
        assertEquals(96, mini.headDim());
        assertEquals(java.util.Collections.nCopies(32, 2047), mini.slidingWindows());
        assertEquals(new ModelConfig.Rope(10000, new RopeScaling.None(), 1.0), mini.rope());
        assertEquals(32000, mini.eosTokenId());
        Projection k = mini.architecture().projection(mini, 3, LoraTarget.K);
        assertEquals(new Projection("model.layers.3.self_attn.qkv_proj", "qkv_proj", Projection.Layout.LINEAR, 9216, 3072,
                3072, 3072, false), k);
        Projection up = mini.architecture().projection(mini, 0, LoraTarget.UP);
        assertEquals(new Projection("model.layers.0.mlp.gate_up_proj", "gate_up_proj", Projection.Layout.LINEAR, 16384, 8192,
                8192, 3072, false), up);
        // Phi3Config: no sliding_window = none
        assertEquals(ModelConfig.fullAttention(32), parse(edit(PHI3_MINI_4K, o -> o.remove("sliding_window"))).slidingWindows());

        ModelConfig phi4 = parse(phi4Mini());
        assertEquals(128, phi4.headDim());
        assertEquals(96, phi4.rope().rotaryDim(phi4.headDim()));
        assertTrue(phi4.tieWordEmbeddings());
        RopeScaling.LongRope longRope = assertInstanceOf(RopeScaling.LongRope.class, phi4.rope().scaling());
        assertEquals(4096, longRope.originalMaxPositions());
        // HF: √(1 + ln(131072 / 4096) / ln 4096)
        assertEquals(Math.sqrt(1 + Math.log(32) / Math.log(4096)), longRope.attentionScaling(), 1e-12);
        assertEquals(4096, longRope.lengthThreshold(phi4.maxPositions()));
        // up to the original length the short factors apply, beyond it the long ones
        double[] within = longRope.inverseFrequencies(10000, 96, 131072, 4096);
        double[] beyond = longRope.inverseFrequencies(10000, 96, 131072, 4097);
        assertEquals(1 / (1 + 0.01 * 5) / Math.pow(10000, 10.0 / 96), within[5], 1e-15);
        assertEquals(1 / 6.0 / Math.pow(10000, 10.0 / 96), beyond[5], 1e-15);
        // transformers 5 writes rope_parameters with theta and partial_rotary_factor inside
        String v5 = edit(phi4Mini(), o -> {
            JsonObject r = o.remove("rope_scaling").getAsJsonObject();
            r.add("rope_type", r.remove("type"));
            r.add("rope_theta", o.remove("rope_theta"));
            r.add("partial_rotary_factor", o.remove("partial_rotary_factor"));
            o.add("rope_parameters", r);
        });
        assertEquals(phi4.rope(), parse(v5).rope());

        assertEquals("keys 'rope_scaling.short_factor' and 'long_factor' need 48 entries (head_dim 128 × partial_rotary_factor"
                + " 0.75 / 2), got 47 and 48", refused(edit(phi4Mini(),
                        o -> o.getAsJsonObject("rope_scaling").getAsJsonArray("short_factor").remove(0))));
        assertEquals("key 'rope_scaling.rope_type' = 'linear' is not supported for Phi-3 (supported: default, longrope)",
                refused(edit(PHI3_MINI_4K, o -> o.add("rope_scaling", JsonParser.parseString("{\"type\": \"linear\", \"factor\": 2.0}")))));
        assertTrue(refused(edit(phi4Mini(), o -> o.getAsJsonObject("rope_scaling").addProperty("factor", 4.0)))
                .startsWith("key 'rope_scaling.factor' must equal max_position_embeddings / original_max_position_embeddings (32.0)"));
        assertEquals("key 'mlp_bias' must be false (HF's Phi-3 model has no such bias)",
                refused(edit(phi4Mini(), o -> o.addProperty("mlp_bias", true))));
        assertEquals("key 'full_attn_mod' must be 1 (HF's Phi-3 attends fully on every layer)",
                refused(edit(phi4Mini(), o -> o.addProperty("full_attn_mod", 2))));
        assertEquals("key 'attn_logit_softcapping' is not supported for model_type 'phi3'",
                refused(edit(PHI3_MINI_4K, o -> o.addProperty("attn_logit_softcapping", 30.0))));
    }

    @Test
    void gemmaConfigsParseWithTheirLayerPatternsSoftCapsAndRopeBases() {
        ModelConfig g2 = parse(GEMMA2_2B);
        assertEquals("gemma2", g2.architecture().modelType());
        assertEquals(ModelConfig.Activation.GELU_TANH, g2.activation());
        assertTrue(g2.tieWordEmbeddings(), "Gemma2Config ties by default");
        assertEquals(1, g2.eosTokenId());
        for (int l = 0; l < 26; l++) {
            assertEquals(l % 2 == 0 ? 4096 : 0, g2.slidingWindows().get(l), "gemma-2 layer " + l);
        }
        assertEquals(50.0, ((GemmaArchitecture.Settings) g2.familySettings()).attentionSoftcap());
        assertEquals(30.0, g2.architecture().finalLogitSoftcap(g2));
        assertEquals(Math.sqrt(2304), g2.architecture().embeddingMultiplier(g2), 1e-12);
        // absent = HF's defaults (50, 30); null = none
        ModelConfig uncapped = parse(edit(GEMMA2_2B, o -> {
            o.add("attn_logit_softcapping", null);
            o.add("final_logit_softcapping", null);
        }));
        assertEquals(0.0, uncapped.architecture().finalLogitSoftcap(uncapped));
        ModelConfig defaultCaps = parse(edit(GEMMA2_2B, o -> o.remove("final_logit_softcapping")));
        assertEquals(30.0, defaultCaps.architecture().finalLogitSoftcap(defaultCaps));

        ModelConfig g3 = parse(GEMMA3_1B);
        assertEquals(256, g3.headDim());
        assertEquals(1, g3.numKvHeads());
        for (int l = 0; l < 26; l++) {
            assertEquals((l + 1) % 6 == 0 ? 0 : 512, g3.slidingWindows().get(l), "gemma-3 layer " + l);
        }
        GemmaArchitecture.Settings s3 = (GemmaArchitecture.Settings) g3.familySettings();
        assertEquals(new ModelConfig.Rope(10000, new RopeScaling.None()), s3.localRope());
        assertEquals(new ModelConfig.Rope(1000000, new RopeScaling.None()), g3.rope());
        assertEquals(0.0, s3.attentionSoftcap());
        assertEquals(0.0, g3.architecture().finalLogitSoftcap(g3));
        // Gemma 3 4B and larger: linear RoPE scaling on the full-attention layers only
        ModelConfig scaled = parse(edit(GEMMA3_1B, o -> o.add("rope_scaling",
                JsonParser.parseString("{\"factor\": 8.0, \"rope_type\": \"linear\"}"))));
        assertEquals(new RopeScaling.Linear(8), scaled.rope().scaling());
        assertEquals(s3.localRope(), ((GemmaArchitecture.Settings) scaled.familySettings()).localRope());

        assertEquals("key 'use_bidirectional_attention' = true is not supported (causal attention only)",
                refused(edit(GEMMA3_1B, o -> o.addProperty("use_bidirectional_attention", true))));
        assertEquals("key 'partial_rotary_factor' is not supported for model_type 'gemma2'",
                refused(edit(GEMMA2_2B, o -> o.addProperty("partial_rotary_factor", 0.5))));
    }

    @Test
    void qwenSlidingWindowsFollowUseSlidingWindowAndLayerTypes() {
        ModelConfig byMaxWindowLayers = parse(edit(QWEN2_5, o -> {
            o.addProperty("use_sliding_window", true);
            o.addProperty("sliding_window", 1024);
        }));
        for (int l = 0; l < 24; l++) {
            assertEquals(l >= 21 ? 1024 : 0, byMaxWindowLayers.slidingWindows().get(l), "layer " + l);
        }
        String twoLayers = edit(QWEN3, o -> {
            o.addProperty("num_hidden_layers", 2);
            o.addProperty("use_sliding_window", true);
            o.addProperty("sliding_window", 512);
            o.add("layer_types", JsonParser.parseString("[\"full_attention\", \"sliding_attention\"]"));
        });
        assertEquals(java.util.List.of(0, 512), parse(twoLayers).slidingWindows());
        assertEquals("key 'layer_types' has 2 entries for 3 layers",
                refused(edit(twoLayers, o -> o.addProperty("num_hidden_layers", 3))));
        assertEquals("key 'layer_types': 'chunked_attention' is not supported (full_attention, sliding_attention)",
                refused(edit(twoLayers, o -> o.add("layer_types", JsonParser.parseString("[\"full_attention\", \"chunked_attention\"]")))));
        // keys the family's HF config does not have
        assertEquals("key 'attention_bias' is not supported for model_type 'qwen2'",
                refused(edit(QWEN2_5, o -> o.addProperty("attention_bias", false))));
        assertEquals("key 'layer_types' is not supported for model_type 'mistral'",
                refused(edit(MISTRAL, o -> o.add("layer_types", JsonParser.parseString("[\"full_attention\"]")))));
    }

    @Test
    void ropeTypesAndTheirKeys() {
        assertEquals(new RopeScaling.Linear(2), parse(edit(TINYLLAMA, o -> o.add("rope_scaling",
                JsonParser.parseString("{\"type\": \"linear\", \"factor\": 2.0}")))).rope().scaling());
        assertEquals(new RopeScaling.DynamicNtk(2), parse(edit(TINYLLAMA, o -> o.add("rope_scaling",
                JsonParser.parseString("{\"rope_type\": \"dynamic\", \"factor\": 2.0}")))).rope().scaling());
        // transformers 5 writes rope_parameters with the theta inside
        ModelConfig v5 = parse(edit(LLAMA_3_2_1B, o -> {
            o.add("rope_parameters", o.remove("rope_scaling"));
            o.getAsJsonObject("rope_parameters").add("rope_theta", o.remove("rope_theta"));
        }));
        assertEquals(parse(LLAMA_3_2_1B).rope(), v5.rope());

        assertEquals("key 'rope_scaling.rope_type' = 'yarn' is not supported (supported: default, linear, dynamic, llama3)",
                refused(edit(TINYLLAMA, o -> o.add("rope_scaling", JsonParser.parseString("{\"rope_type\": \"yarn\", \"factor\": 4.0}")))));
        assertEquals("key 'rope_scaling.beta_fast' is not supported for rope type 'llama3'", refused(edit(LLAMA_3_2_1B,
                o -> o.getAsJsonObject("rope_scaling").addProperty("beta_fast", 32))));
        assertEquals("missing required key 'rope_scaling.low_freq_factor'", refused(edit(LLAMA_3_2_1B,
                o -> o.getAsJsonObject("rope_scaling").remove("low_freq_factor"))));
        assertTrue(refused(edit(TINYLLAMA, o -> o.add("rope_scaling", JsonParser.parseString(
                "{\"rope_type\": \"dynamic\", \"factor\": 2.0, \"original_max_position_embeddings\": 1024}"))))
                .startsWith("key 'rope_scaling.original_max_position_embeddings' (1024) must equal max_position_embeddings (2048)"));
        assertTrue(refused(edit(LLAMA_3_2_1B, o -> o.add("rope_parameters", JsonParser.parseString("{\"rope_type\": \"default\"}"))))
                .contains("'rope_parameters' and 'rope_scaling' are both set"));
    }

    @Test
    void keysWeDoNotImplementAreRefusedByName() {
        assertEquals("key 'attn_logit_softcapping' is not supported for model_type 'llama'",
                refused(edit(TINYLLAMA, o -> o.addProperty("attn_logit_softcapping", 50.0))));
        assertEquals("keys 'quantization_config', 'partial_rotary_factor' are not supported for model_type 'llama'",
                refused(edit(TINYLLAMA, o -> {
                    o.add("quantization_config", JsonParser.parseString("{\"quant_method\": \"gptq\", \"bits\": 4}"));
                    o.addProperty("partial_rotary_factor", 0.5);
                })));
        assertEquals("key 'is_encoder_decoder' = true is not supported for model_type 'gpt2'",
                refused(edit(GPT2, o -> o.addProperty("is_encoder_decoder", true))));
        parse(edit(GPT2, o -> o.addProperty("is_encoder_decoder", false)));
        assertEquals("key 'n_embd' must be an integer, got 76.8", refused(edit(GPT2, o -> o.addProperty("n_embd", 76.8))));
        assertEquals("key 'tie_word_embeddings' must be true or false, got \"yes\"",
                refused(edit(TINYLLAMA, o -> o.addProperty("tie_word_embeddings", "yes"))));
        assertTrue(refused(edit(TINYLLAMA, o -> o.addProperty("model_type", "gemma")))
                .startsWith("unsupported model_type 'gemma' (supported: gpt2, llama, "));
    }

    @Test
    void errorsThroughAModelDirectoryNameTheFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("config.json"), edit(TINYLLAMA, o -> o.addProperty("attn_logit_softcapping", 50.0)));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelSource.of(dir.toString()));
        assertEquals(dir.resolve("config.json") + ": key 'attn_logit_softcapping' is not supported for model_type 'llama'",
                e.getMessage());
    }
}
