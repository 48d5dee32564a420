package org.splitlora.model.config;

/**
 * The architecture of a decoder-only transformer, independent of where its weights come from.
 *
 * @param headDim per-head width (hidden / heads unless the checkpoint says otherwise)
 * @param qkvBias whether the q/k/v projections carry a bias (GPT-2, Qwen2)
 * @param outputBias whether the attention output and MLP projections carry a bias (GPT-2)
 */
public record ModelConfig(
        ModelFamily family,
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int maxPositions,
        double normEps,
        double ropeTheta,
        double ropeLinearScale,
        Activation activation,
        boolean qkvBias,
        boolean outputBias,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId) {

    public ModelConfig {
        require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        require(hiddenSize > 0, "hidden size must be > 0, got " + hiddenSize);
        require(numLayers > 0, "number of layers must be > 0, got " + numLayers);
        require(numHeads > 0 && numKvHeads > 0, "head counts must be > 0");
        require(numHeads % numKvHeads == 0,
                "num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        require(headDim > 0 && (family != ModelFamily.LLAMA || headDim % 2 == 0),
                "head_dim must be positive (and even for RoPE), got " + headDim);
        require(intermediateSize > 0, "intermediate size must be > 0, got " + intermediateSize);
        require(maxPositions > 0, "max positions must be > 0, got " + maxPositions);
        require(ropeLinearScale > 0, "rope scaling factor must be > 0");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The MLP non-linearities found in GPT-2 and Llama configs. */
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
