package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.train.Batch;
import org.splitlora.train.BatchStep;
import org.splitlora.train.SimulatedSpeed;
import org.splitlora.train.StepTimings;
import org.splitlora.util.Seeds;

/**
 * The client side of a split step: embeddings and blocks 0..k-1 with the client's LoRA forward,
 * activations to the server, the returned activation gradient backward. Per micro-batch, so only
 * one micro-batch's graph is alive at a time. Dropout seeds are derived exactly as
 * {@link org.splitlora.train.LocalBatchStep} does, and sent along for the server's blocks.
 */
public final class SplitBatchStep implements BatchStep {

    /** The fixed part of every frame this client sends in a round. */
    public record Route(String runId, int clientId, int round, int attempt, WireDtype dtype, ActivationPrivacy privacy) {}

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final int microBatchSize;
    private final long seed;
    private final SplitClient client;
    private final Route route;
    private final SimulatedSpeed speed;
    private final boolean checkpointing;
    private StepTimings timings = StepTimings.ZERO;

    /** {@code checkpointing}: recompute the client blocks in the backward (train.gradientCheckpointing). */
    public SplitBatchStep(DecoderModel model, LoraAdapters lora, int microBatchSize, long seed, SplitClient client, Route route,
                          SimulatedSpeed speed, boolean checkpointing) {
        if (model.part().head()) {
            throw new IllegalArgumentException("a split client runs a segment without the LM head");
        }
        this.model = model;
        this.lora = lora;
        this.microBatchSize = microBatchSize;
        this.seed = seed;
        this.client = client;
        this.route = route;
        this.speed = speed;
        this.checkpointing = checkpointing;
    }

    @Override
    public StepLoss run(List<TokenizedExample> batch, int step) {
        int targets = BatchStep.targets(batch);
        int micros = (batch.size() + microBatchSize - 1) / microBatchSize;
        int cut = model.part().toLayer();
        int width = model.config().hiddenSize();
        double loss = 0;
        long tokens = 0;
        int pad = model.config().eosTokenId();
        try (Torch.GradScope ignored = Torch.gradMode(true)) {
            for (int micro = 0; micro < micros; micro++) {
                long t0 = System.nanoTime();
                int from = micro * microBatchSize;
                Batch mb = Batch.of(batch.subList(from, Math.min(batch.size(), from + microBatchSize)), pad, targets);
                long dropoutSeed = Seeds.derive(seed, step, micro);
                try (ForwardContext ctx = new ForwardContext(model.manager(), lora, dropoutSeed, checkpointing)) {
                    NDArray ids = mb.prepare(ctx);
                    NDArray h = model.runBlocks(model.embed(ids, ctx), ctx);
                    float[] act = h.toFloatArray();
                    if (route.privacy() != null) {
                        route.privacy().apply(act, width, Seeds.derive(dropoutSeed, 0x6e6f697365L));
                    }
                    StepRequest request = new StepRequest(route.runId(), route.clientId(), route.round(), route.attempt(),
                            step, micro, micros, cut, dropoutSeed, route.dtype(), mb.size(), mb.time(), width,
                            route.dtype().encode(act), mb.rowLengths(), mb.flatTargetPositions(), mb.targetLabels(),
                            mb.targetWeight());
                    speed.slowDown(t0);
                    long t1 = System.nanoTime();
                    StepReply reply = client.exchange(request);
                    long t2 = System.nanoTime();
                    NDArray grad = ctx.manager().create(reply.dtype().decode(reply.gradient(), act.length), h.getShape());
                    ctx.backward(h, grad);
                    speed.slowDown(t2);
                    loss += reply.loss();
                    timings = timings.plus(new StepTimings((t1 - t0) / 1e9, (System.nanoTime() - t2) / 1e9, (t2 - t1) / 1e9,
                            reply.forwardSeconds(), reply.backwardSeconds(), reply.waitSeconds()));
                }
                tokens += mb.tokenCount();
            }
        }
        return new StepLoss(loss, tokens);
    }

    @Override
    public StepTimings timings() {
        return timings;
    }
}
