package org.splitlora.model.random;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.splitlora.datasets.tokenize.ByteLevelTokenizerJson;
import org.splitlora.datasets.tokenize.ByteLevelTokenizerJson.SpecialToken;
import org.splitlora.model.arch.Architectures;
import org.splitlora.model.arch.HfConfigJson;
import org.splitlora.model.config.ModelConfig;

/**
 * The real model shapes {@code random-model} writes: each one's config.json as its HF hub
 * repository has it (only the layer count and torch_dtype change when asked), and the special
 * tokens of its tokenizer at their ids.
 */
public final class ModelShapes {

    /**
     * One shape.
     *
     * @param name what {@code --shape} calls it
     * @param hubRepo the HF repository whose config.json this is
     * @param configJson that config.json
     * @param layersKey the key holding the layer count
     * @param specials the tokenizer's special tokens (empty: the model uses the built-in GPT-2 BPE)
     * @param prependBos whether the tokenizer puts BOS before each text, as the real one does
     */
    public record Shape(String name, String hubRepo, String configJson, String layersKey, List<SpecialToken> specials,
                        boolean prependBos) {

        /** config.json with {@code layers} layers (0 or less: the published count) and the given torch_dtype. */
        public JsonObject config(int layers, String torchDtype) {
            JsonObject o = JsonParser.parseString(configJson).getAsJsonObject();
            if (layers > 0) {
                o.addProperty(layersKey, layers);
            }
            if (torchDtype != null) {
                o.addProperty("torch_dtype", torchDtype);
            }
            return o;
        }

        /** The config as the project's parser reads it. */
        public ModelConfig parse(int layers) {
            return Architectures.parse(new HfConfigJson(config(layers, null)));
        }

        public int publishedLayers() {
            return JsonParser.parseString(configJson).getAsJsonObject().get(layersKey).getAsInt();
        }

        /** The shape's tokenizer.json: byte-level, with its special tokens, BOS first where the real one puts it. */
        public String tokenizerJson() {
            SpecialToken bos = null;
            if (prependBos) {
                int id = parse(1).bosTokenId();
                bos = specials.stream().filter(s -> s.id() == id).findFirst()
                        .orElseThrow(() -> new IllegalStateException(name + ": no special token at bos_token_id " + id));
            }
            return ByteLevelTokenizerJson.json(specials, bos);
        }

        /** Whether the model directory needs a tokenizer.json (GPT-2 shapes use the built-in GPT-2 BPE). */
        public boolean writesTokenizer() {
            return !specials.isEmpty();
        }
    }

    private static final String GPT2_COMMON = """
            "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
             "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
             "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_positions": 1024,
             "resid_pdrop": 0.1, "summary_activation": null, "summary_first_dropout": 0.1, "summary_proj_to_labels": true,
             "summary_type": "cls_index", "summary_use_proj": true,
             "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}}, "vocab_size": 50257""";

    private static final Map<String, Shape> SHAPES = new LinkedHashMap<>();

    static {
        add(new Shape("gpt2", "openai-community/gpt2",
                "{" + GPT2_COMMON + ", \"n_embd\": 768, \"n_head\": 12, \"n_layer\": 12}", "n_layer", List.of(), false));
        // the hub file also has n_special and predict_special_tokens, OpenAI-GPT keys GPT2Config never reads
        add(new Shape("gpt2-medium", "openai-community/gpt2-medium",
                "{" + GPT2_COMMON + ", \"n_embd\": 1024, \"n_head\": 16, \"n_layer\": 24}", "n_layer", List.of(), false));
        add(new Shape("llama-3.2-1b", "meta-llama/Llama-3.2-1B", """
                {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
                 "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
                 "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
                 "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
                 "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
                 "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                 "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.45.0.dev0",
                 "use_cache": true, "vocab_size": 128256}""", "num_hidden_layers",
                List.of(new SpecialToken(128000, "<|begin_of_text|>"), new SpecialToken(128001, "<|end_of_text|>")), true));
        add(new Shape("qwen3-0.6b", "Qwen/Qwen3-0.6B", """
                {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
                 "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
                 "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960,
                 "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28,
                 "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
                 "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
                 "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}""",
                "num_hidden_layers",
                List.of(new SpecialToken(151643, "<|endoftext|>"), new SpecialToken(151645, "<|im_end|>")), false));
        // ids 0-2 are Llama 2's <unk>, <s>, </s>, so the 256 byte symbols take ids 3-258 here
        add(new Shape("tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", """
                {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1, "eos_token_id": 2,
                 "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632,
                 "max_position_embeddings": 2048, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22,
                 "num_key_value_heads": 4, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null,
                 "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
                 "transformers_version": "4.35.0", "use_cache": true, "vocab_size": 32000}""", "num_hidden_layers",
                List.of(new SpecialToken(0, "<unk>"), new SpecialToken(1, "<s>"), new SpecialToken(2, "</s>")), true));
    }

    private ModelShapes() {}

    private static void add(Shape s) {
        SHAPES.put(s.name(), s);
    }

    public static List<String> names() {
        return List.copyOf(SHAPES.keySet());
    }

    public static Shape get(String name) {
        Shape s = SHAPES.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown shape '" + name + "' (available: " + String.join(", ", SHAPES.keySet()) + ")");
        }
        return s;
    }
}
