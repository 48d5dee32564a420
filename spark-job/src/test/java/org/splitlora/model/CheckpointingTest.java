package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.train.Batch;
import org.splitlora.train.CausalLmLoss;

/**
 * Activation checkpointing changes memory, not arithmetic: with dropout on, the loss and every LoRA
 * gradient of a checkpointed pass equal the plain pass's, for every family, through the whole
 * model and through a split (both sides checkpointed, the activation gradient crossing between).
 */
class CheckpointingTest {

    @TempDir
    Path tmp;

    private ModelSource source(String type) throws Exception {
        if (type.equals("gpt2")) {
            return ModelSource.of(BuiltinModels.TINY_GPT2);
        }
        Path dir = tmp.resolve(type);
        TinyHfModels.write(dir, type.equals("llama") ? TinyHfModels.config("llama", 61, 32, 3, 4, 2, 48, 64, false)
                : DecoderFamiliesTest.config(type), 17);
        return ModelSource.of(dir.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "mistral", "qwen3", "phi3", "gemma2", "gemma3_text"})
    void checkpointedPassesEqualPlainOnes(String type) throws Exception {
        ModelSource source = source(type);
        int layers = source.config().numLayers();
        LoraSpec spec = LoraSpec.of(type.equals("gpt2") ? EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.O, LoraTarget.UP,
                LoraTarget.DOWN) : EnumSet.allOf(LoraTarget.class), 2, 4, 0.1);
        List<TokenizedExample> data = LoraTestSupport.sequences(61, 4, 13, 9, 6);
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel whole = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, layers, 21)) {
            LoraTestSupport.randomize(lora, 8, 0.05);
            LoraTestSupport.LossAndGrads plain = LoraTestSupport.wholeModel(whole, lora, data, true, 99, 0.1);
            LoraTestSupport.LossAndGrads checkpointed = wholeCheckpointed(whole, lora, data);
            assertEquals(plain.loss(), checkpointed.loss(), 1e-6, type + " loss");
            assertSameGrads(plain.grads(), checkpointed.grads(), type + " whole model");

            Map<String, float[]> values = lora.toFloats();
            int cut = layers / 2 + 1;
            try (DecoderModel client = source.load(ModelPart.client(source.config(), cut), root);
                 DecoderModel server = source.load(ModelPart.server(source.config(), cut), root);
                 LoraAdapters cl = LoraAdapters.fromFloats(root, source.config(), spec, 0, cut, values);
                 LoraAdapters sl = LoraAdapters.fromFloats(root, source.config(), spec, cut, layers, values)) {
                LoraTestSupport.LossAndGrads split = splitCheckpointed(client, cl, server, sl, data);
                assertEquals(plain.loss(), split.loss(), 1e-5, type + " split loss");
                assertSameGrads(plain.grads(), split.grads(), type + " split at " + cut);
            }
        }
    }

    private static void assertSameGrads(Map<String, float[]> expected, Map<String, float[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        double largest = 0;
        for (String k : expected.keySet()) {
            float[] e = expected.get(k);
            float[] a = actual.get(k);
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], a[i], 1e-6, what + ": " + k + "[" + i + "]");
                largest = Math.max(largest, Math.abs(e[i]));
            }
        }
        assertTrue(largest > 1e-2, what + ": gradients too small to compare: " + largest);
    }

    private static LoraTestSupport.LossAndGrads wholeCheckpointed(DecoderModel model, LoraAdapters lora, List<TokenizedExample> data) {
        Batch batch = Batch.of(data, model.config().eosTokenId(), 0);
        double loss;
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), lora, 99, true)) {
            NDArray ids = batch.prepare(ctx);
            NDArray l = CausalLmLoss.compute(model, model.runBlocks(model.embed(ids, ctx), ctx), batch, 0.1, ctx);
            ctx.backward(l, ctx.manager().ones(l.getShape()));
            loss = l.getFloat();
        }
        return new LoraTestSupport.LossAndGrads(loss, LoraTestSupport.takeGrads(lora));
    }

    private static LoraTestSupport.LossAndGrads splitCheckpointed(DecoderModel client, LoraAdapters clientLora, DecoderModel server,
                                                                  LoraAdapters serverLora, List<TokenizedExample> data) {
        Batch batch = Batch.of(data, client.config().eosTokenId(), 0);
        double loss;
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext c = new ForwardContext(client.manager(), clientLora, 99, true);
             ForwardContext s = new ForwardContext(server.manager(), serverLora, 99, true)) {
            NDArray activations = client.forward(batch.prepare(c), c);
            batch.prepare(s);
            NDArray received = s.manager().create(activations.toFloatArray(), activations.getShape());
            received.setRequiresGradient(true);
            NDArray l = CausalLmLoss.compute(server, server.runBlocks(received, s), batch, 0.1, s);
            s.backward(l, s.manager().ones(l.getShape()));
            loss = l.getFloat();
            NDArray g = received.getGradient();
            NDArray back = c.manager().create(g.toFloatArray(), activations.getShape());
            g.close();
            c.backward(activations, back);
        }
        Map<String, float[]> grads = new java.util.TreeMap<>(LoraTestSupport.takeGrads(clientLora));
        grads.putAll(LoraTestSupport.takeGrads(serverLora));
        return new LoraTestSupport.LossAndGrads(loss, grads);
    }
}
