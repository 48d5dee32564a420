package org.splitlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.splitlora.model.ModelSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.random.ModelShapes;
import org.splitlora.model.weights.WeightSource;

/** The FLOP count against parameter counts it does not compute itself: published totals, a model file, real adapters. */
class TrainingFlopsTest {

    private static final LoraSpec QV = LoraSpec.of(Set.of(LoraTarget.Q, LoraTarget.V), 4, 8, 0);

    /**
     * Forward and input gradient of every block projection are 4 FLOPs per weight: the published
     * parameter totals (GPT-2 small 124,439,808; Llama 3.2 1B 1,235,814,400) less what is not a
     * block projection weight (embeddings, norms, biases) give the weights.
     */
    @Test
    void blockWeightsArePublishedTotalsLessEmbeddingsNormsAndBiases() {
        ModelConfig gpt2 = ModelShapes.get("gpt2").parse(0);
        long d = 768;
        long gpt2Rest = 50257 * d + 1024 * d // token and position embeddings
                + 12 * 4 * d + 2 * d // two LayerNorms (weight, bias) per block, the final one
                + 12 * (3 * d + d + 4 * d + d); // biases of c_attn, attn.c_proj, c_fc, mlp.c_proj
        assertEquals(4.0 * (124_439_808L - gpt2Rest), TrainingFlops.of(gpt2, QV, 0).blocks(), 0);

        ModelConfig llama = ModelShapes.get("llama-3.2-1b").parse(0);
        long h = 2048;
        long llamaRest = 128256 * h // tied embedding
                + 16 * 2 * h + h; // two RMSNorms per block, the final one
        assertEquals(4.0 * (1_235_814_400L - llamaRest), TrainingFlops.of(llama, QV, 0).blocks(), 0);
    }

    @Test
    void blockWeightsAreTheModelFilesProjectionWeights() {
        ModelSource source = ModelSource.of("builtin:tiny-gpt2");
        Pattern projection = Pattern.compile("h\\.\\d+\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp\\.c_proj)\\.weight");
        long weights = 0;
        try (WeightSource w = source.openWeights()) {
            for (String name : w.names()) {
                if (projection.matcher(name).find()) {
                    long[] shape = w.shape(name);
                    weights += shape[0] * shape[1];
                }
            }
        }
        assertTrue(weights > 0);
        assertEquals(4.0 * weights, TrainingFlops.of(source.config(), QV, 0).blocks(), 0);
    }

    /** LoRA: forward 2 FLOPs per adapter parameter, backward 4 (input and weight gradients). */
    @Test
    void loraIsSixFlopsPerAdapterParameterAndTheHeadCountsTargetsOnly() {
        ModelConfig c = ModelShapes.get("gpt2").parse(2);
        long parameters;
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             LoraAdapters lora = LoraAdapters.init(m, c, QV, 0, c.numLayers(), 1)) {
            parameters = lora.toFloats().values().stream().mapToLong(a -> a.length).sum();
        }
        assertEquals(2 * 2 * 4 * (768 + 768), parameters); // 2 layers × (q, v) × r·(in + out)
        TrainingFlops f = TrainingFlops.of(c, QV, 0.25);
        assertEquals(6.0 * parameters, f.lora(), 0);
        assertEquals(4.0 * 50257 * 768 * 0.25, f.head(), 1e-3);
        assertEquals(f.blocks() + f.lora() + f.head(), f.perToken(), 0);
        assertThrows(IllegalArgumentException.class, () -> TrainingFlops.of(c, QV, 1.5));
    }

    @Test
    void matmulRateIsPositiveAndFinite() {
        double rate = MatmulRate.measure(Device.cpu(), 64, 32, 48, 3);
        assertTrue(rate > 0 && Double.isFinite(rate), "rate " + rate);
        assertThrows(IllegalArgumentException.class, () -> MatmulRate.measure(Device.cpu(), 0, 32, 48, 3));
    }
}
