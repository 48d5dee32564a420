package org.splitlora.model.config;

import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.splitlora.model.arch.Architecture;
import org.splitlora.model.lora.LoraTarget;

/**
 * The shape and settings of a decoder-only transformer as its config.json describes them; what the
 * settings mean for the wiring is up to its {@link Architecture}.
 *
 * @param headDim per-head width (hidden / heads unless the checkpoint says otherwise)
 * @param rope rotary position embedding, or null for a model without (GPT-2's learned positions)
 * @param biasedProjections the projections that carry a bias (all for GPT-2, q/k/v for Qwen2)
 * @param slidingWindows per layer, how many keys back a query may attend (itself included); 0 = all
 * @param familySettings what only the architecture reads (Gemma's scales and local RoPE), or {@link FamilySettings#NONE}
 */
public record ModelConfig(
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int maxPositions,
        double normEps,
        Rope rope,
        Activation activation,
        Set<LoraTarget> biasedProjections,
        List<Integer> slidingWindows,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId,
        FamilySettings familySettings) {

    public ModelConfig {
        require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        require(hiddenSize > 0, "hidden size must be > 0, got " + hiddenSize);
        require(numLayers > 0, "number of layers must be > 0, got " + numLayers);
        require(numHeads > 0 && numKvHeads > 0, "head counts must be > 0");
        require(numHeads % numKvHeads == 0,
                "num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        require(headDim > 0, "head_dim must be positive, got " + headDim);
        require(rope == null || rope.rotaryDim(headDim) > 0 && rope.rotaryDim(headDim) % 2 == 0,
                "the rotary width (head_dim " + headDim + (rope != null && rope.partialRotaryFactor() != 1
                        ? " × partial_rotary_factor " + rope.partialRotaryFactor() : "") + ") must be even and > 0");
        require(intermediateSize > 0, "intermediate size must be > 0, got " + intermediateSize);
        require(maxPositions > 0, "max positions must be > 0, got " + maxPositions);
        require(slidingWindows.size() == numLayers, "sliding windows for " + slidingWindows.size() + " of " + numLayers + " layers");
        for (int w : slidingWindows) {
            require(w >= 0, "sliding_window must be > 0, got " + w);
        }
        slidingWindows = List.copyOf(slidingWindows);
        biasedProjections = biasedProjections.isEmpty() ? Set.of()
                : Collections.unmodifiableSet(EnumSet.copyOf(biasedProjections));
    }

    /** Settings of one family that only its {@link Architecture} reads (a record of the family's own). */
    public interface FamilySettings {
        /** A family without settings of its own. */
        FamilySettings NONE = new FamilySettings() {
            @Override
            public String toString() {
                return "none";
            }
        };
    }

    /** A model whose every layer attends to all earlier positions. */
    public static List<Integer> fullAttention(int layers) {
        return Collections.nCopies(layers, 0);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * Rotary position embedding: base {@code rope_theta}, the variant's scaling, and the share of
     * each head's dimensions it rotates ({@code partial_rotary_factor}: the first
     * {@code int(head_dim · factor)} dimensions; the rest pass through).
     */
    public record Rope(double theta, RopeScaling scaling, double partialRotaryFactor) {
        public Rope {
            require(theta > 0, "rope_theta must be > 0, got " + theta);
            require(partialRotaryFactor > 0 && partialRotaryFactor <= 1,
                    "partial_rotary_factor must be in (0, 1], got " + partialRotaryFactor);
        }

        /** Every dimension rotated. */
        public Rope(double theta, RopeScaling scaling) {
            this(theta, scaling, 1.0);
        }

        /** How many leading dimensions of a head of width {@code headDim} are rotated (HF: int(head_dim · factor)). */
        public int rotaryDim(int headDim) {
            return (int) (headDim * partialRotaryFactor);
        }
    }

    /** The MLP non-linearities found in HF configs ({@code activation_function}, {@code hidden_act}). */
    public enum Activation {
        /** tanh approximation of GELU (GPT-2's {@code gelu_new}). */
        GELU_TANH,
        /** exact erf GELU. */
        GELU,
        SILU,
        RELU;

        public static Activation fromHf(String name) {
            return switch (name) {
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                case "gelu" -> GELU;
                case "silu", "swish" -> SILU;
                case "relu" -> RELU;
                default -> throw new IllegalArgumentException("unsupported activation function '" + name + "'");
            };
        }
    }
}
