package org.splitlora.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraLayer;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.train.Batch;
import org.splitlora.train.CausalLmLoss;

/** Loss and LoRA gradients of one batch, for numerics tests. */
public final class LoraTestSupport {

    private LoraTestSupport() {}

    /** Loss value and the gradient of every LoRA tensor (named as toFloats), gradients zeroed after. */
    public record LossAndGrads(double loss, Map<String, float[]> grads) {}

    /** Replaces every A and B with N(0, scale²) values so that no gradient is trivially zero. */
    public static void randomize(LoraAdapters lora, long seed, double scale) {
        Random rng = new Random(seed);
        Map<String, float[]> values = new TreeMap<>(lora.toFloats());
        for (float[] v : values.values()) {
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rng.nextGaussian() * scale);
            }
        }
        lora.loadFloats(values);
    }

    public static List<TokenizedExample> sequences(int vocab, long seed, int... lengths) {
        Random rng = new Random(seed);
        List<TokenizedExample> out = new ArrayList<>();
        for (int n = 0; n < lengths.length; n++) {
            int[] ids = new int[lengths[n]];
            byte[] mask = new byte[lengths[n]];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rng.nextInt(vocab);
                mask[i] = (byte) (i >= ids.length / 3 ? 1 : 0);
            }
            out.add(new TokenizedExample(n, ids, mask));
        }
        return out;
    }

    public static LossAndGrads wholeModel(DecoderModel model, LoraAdapters lora, List<TokenizedExample> examples,
                                          boolean training, long seed, double smoothing) {
        Batch batch = Batch.of(examples, model.config().eosTokenId(), 0);
        double loss;
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), lora, training, seed)) {
            NDArray ids = batch.prepare(ctx);
            NDArray l = CausalLmLoss.compute(model, model.runBlocks(model.embed(ids, ctx), ctx), batch, smoothing, ctx);
            JniUtils.backward((PtNDArray) l, (PtNDArray) ctx.manager().ones(l.getShape()), false, false);
            loss = l.getFloat();
        }
        return new LossAndGrads(loss, takeGrads(lora));
    }

    /**
     * The split step as client and server do it: the client runs to the cut; the activations
     * cross as a copy into a fresh leaf on the server; the server's loss is backpropagated to that
     * leaf, whose gradient crosses back and is backpropagated through the client segment.
     */
    public static LossAndGrads split(DecoderModel client, LoraAdapters clientLora, DecoderModel server, LoraAdapters serverLora,
                                     List<TokenizedExample> examples, boolean training, long seed, double smoothing) {
        Batch batch = Batch.of(examples, client.config().eosTokenId(), 0);
        double loss;
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext c = new ForwardContext(client.manager(), clientLora, training, seed);
             ForwardContext s = new ForwardContext(server.manager(), serverLora, training, seed)) {
            NDArray activations = client.forward(batch.prepare(c), c);
            batch.prepare(s);
            NDArray received = s.manager().create(activations.toFloatArray(), activations.getShape());
            received.setRequiresGradient(true);
            NDArray l = CausalLmLoss.compute(server, server.runBlocks(received, s), batch, smoothing, s);
            JniUtils.backward((PtNDArray) l, (PtNDArray) s.manager().ones(l.getShape()), false, false);
            loss = l.getFloat();
            NDArray g = received.getGradient();
            NDArray gradBack = c.manager().create(g.toFloatArray(), activations.getShape());
            g.close();
            JniUtils.backward((PtNDArray) activations, (PtNDArray) gradBack, false, false);
        }
        Map<String, float[]> grads = new TreeMap<>(takeGrads(clientLora));
        grads.putAll(takeGrads(serverLora));
        return new LossAndGrads(loss, grads);
    }

    public static Map<String, float[]> takeGrads(LoraAdapters lora) {
        Map<String, float[]> out = new TreeMap<>();
        for (LoraLayer l : lora.layers()) {
            String k = LoraAdapters.key(l.layer(), l.target());
            out.put(k + ".lora_A", grad(l.a()));
            out.put(k + ".lora_B", grad(l.b()));
        }
        return out;
    }

    private static float[] grad(NDArray p) {
        try (NDArray g = p.getGradient()) {
            float[] v = g.toFloatArray();
            JniUtils.zeroGrad((PtNDArray) p);
            return v;
        }
    }

    public static double lossOnly(DecoderModel model, LoraAdapters lora, List<TokenizedExample> examples) {
        Batch batch = Batch.of(examples, model.config().eosTokenId(), 0);
        try (Torch.GradScope ignored = Torch.gradMode(false);
             ForwardContext ctx = new ForwardContext(model.manager(), lora, false, 0)) {
            NDArray ids = batch.prepare(ctx);
            return CausalLmLoss.compute(model, model.runBlocks(model.embed(ids, ctx), ctx), batch, 0, ctx).getFloat();
        }
    }
}
