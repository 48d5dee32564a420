package org.splitlora.model.arch;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Set;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.DecoderBlock;
import org.splitlora.model.nn.Norm;
import org.splitlora.model.weights.WeightSource;

/**
 * Everything that differs between model families, in one place per family: how its config.json
 * reads, what its tensors are called, which projections are fused, which LoRA targets exist and
 * what PEFT calls them, and how blocks, norms, activations and positions are wired. Loader, LoRA,
 * PEFT export, merge and run config ask the architecture; none of them tests for a family.
 *
 * <p>Adding a family is one implementation (registered in {@link Architectures}) plus any nn pieces
 * it needs: e.g. Phi-3 returns fused {@link Projection}s of {@code qkv_proj} and
 * {@code gate_up_proj}; Gemma returns its own {@link DecoderBlock} with pre/post-feedforward norms.
 */
public interface Architecture {

    /** The HF {@code model_type} this architecture reads. */
    String modelType();

    /** The family's name in messages ("GPT-2", "Llama"). */
    String displayName();

    /**
     * Reads and validates config.json. Every key is read, known to change nothing, or refused by
     * name; errors are {@link IllegalArgumentException}s naming the key.
     */
    ModelConfig parse(HfConfigJson config);

    /** The projections of a block that exist in this family (and so may carry LoRA). */
    Set<LoraTarget> loraTargets();

    /** Where projection {@code target} of {@code layer} lives in the checkpoint. */
    Projection projection(ModelConfig config, int layer, LoraTarget target);

    /** HF name of the token embedding ([vocab, hidden]). */
    String tokenEmbeddingName();

    /** HF name of an untied LM head ([vocab, hidden]). */
    default String lmHeadName() {
        return "lm_head.weight";
    }

    /**
     * The name a checkpoint stores HF tensor {@code name} under: the name itself, unless the
     * family's checkpoints may leave out a prefix (GPT-2 saved from GPT2Model lacks "transformer.").
     */
    default String storedName(String name, WeightSource weights) {
        return name;
    }

    /** Whether a stored tensor is a buffer the model recomputes (causal masks, rotary inv_freq), not a weight. */
    boolean isBuffer(String storedName);

    /** Learned position embeddings added to the token embeddings, or null when positions enter elsewhere. */
    NDArray positionEmbedding(ModelWeights weights, ModelConfig config);

    /** Blocks [from, to), wired from their weights. */
    List<DecoderBlock> blocks(ModelWeights weights, ModelConfig config, int from, int to);

    /** The norm before the LM head. */
    Norm finalNorm(ModelWeights weights, ModelConfig config);

    /** What the token embeddings are multiplied by (Gemma: √hidden); 1 for most families. */
    default double embeddingMultiplier(ModelConfig config) {
        return 1;
    }

    /** The final logits' tanh soft-cap ({@code cap · tanh(logits / cap)}), or 0 for none. */
    default double finalLogitSoftcap(ModelConfig config) {
        return 0;
    }

    /** A tokenizer for directories that ship no tokenizer.json, or null when there is none. */
    default TokenizerSpec fallbackTokenizer(ModelConfig config) {
        return null;
    }
}
