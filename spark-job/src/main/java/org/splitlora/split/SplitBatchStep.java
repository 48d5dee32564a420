package org.splitlora.split;

import ai.djl.ndarray.NDArray;
import java.util.ArrayDeque;
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
 * activations to the server, the returned activation gradient backward. Dropout seeds are derived
 * exactly as {@link org.splitlora.train.LocalBatchStep} does, and sent along for the server's
 * blocks.
 *
 * <p>Pipelining: the adapters change only at the step's end, so micro-batch i+1's forward does not
 * depend on micro-batch i's backward. With {@code pipelineDepth} d the client keeps up to d
 * micro-batches sent and unanswered, running the next forward while the server works, and runs
 * the backwards in micro-batch order as replies come; gradients accumulate in the same order as in
 * lock-step (d = 1), so the arithmetic is the same. d micro-batch graphs are alive at once.
 */
public final class SplitBatchStep implements BatchStep {

    /** The fixed part of every frame this client sends in a round. */
    public record Route(String runId, int clientId, int round, int attempt, WireDtype dtype, ActivationPrivacy privacy) {}

    /** A micro-batch sent and not yet answered: its pass (open until its backward) and output. */
    private record InFlight(ForwardContext ctx, NDArray output, int step, int micro, int values, long tokens,
                            double forwardSeconds, double sendSeconds) {}

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final int microBatchSize;
    private final int pipelineDepth;
    private final long seed;
    private final SplitClient client;
    private final Route route;
    private final SimulatedSpeed speed;
    private final boolean checkpointing;
    private StepTimings timings = StepTimings.ZERO;

    /**
     * {@code pipelineDepth}: micro-batches in flight (split.pipelineDepth, 1 = lock-step);
     * {@code checkpointing}: recompute the client blocks in the backward (train.gradientCheckpointing).
     */
    public SplitBatchStep(DecoderModel model, LoraAdapters lora, int microBatchSize, int pipelineDepth, long seed, SplitClient client,
                          Route route, SimulatedSpeed speed, boolean checkpointing) {
        if (model.part().head()) {
            throw new IllegalArgumentException("a split client runs a segment without the LM head");
        }
        if (pipelineDepth < 1) {
            throw new IllegalArgumentException("pipeline depth must be >= 1, got " + pipelineDepth);
        }
        this.model = model;
        this.lora = lora;
        this.microBatchSize = microBatchSize;
        this.pipelineDepth = pipelineDepth;
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
        double loss = 0;
        long tokens = 0;
        ArrayDeque<InFlight> inFlight = new ArrayDeque<>(pipelineDepth);
        try (Torch.GradScope ignored = Torch.gradMode(true)) {
            for (int micro = 0; micro < micros; micro++) {
                int from = micro * microBatchSize;
                inFlight.add(forwardAndSend(batch.subList(from, Math.min(batch.size(), from + microBatchSize)), targets, step,
                        micro, micros));
                while (inFlight.size() >= pipelineDepth || micro == micros - 1 && !inFlight.isEmpty()) {
                    InFlight f = inFlight.pollFirst();
                    loss += receiveAndBackward(f);
                    tokens += f.tokens();
                }
            }
        } finally {
            // a failed exchange leaves passes open
            inFlight.forEach(f -> f.ctx().close());
        }
        return new StepLoss(loss, tokens);
    }

    /** Runs a micro-batch's forward through the client blocks and sends its activations; its pass stays open. */
    private InFlight forwardAndSend(List<TokenizedExample> rows, int targets, int step, int micro, int micros) {
        long t0 = System.nanoTime();
        Batch mb = Batch.of(rows, model.config().eosTokenId(), targets);
        long dropoutSeed = Seeds.derive(seed, step, micro);
        int width = model.config().hiddenSize();
        ForwardContext ctx = new ForwardContext(model.manager(), lora, dropoutSeed, checkpointing);
        try {
            NDArray ids = mb.prepare(ctx);
            NDArray h = model.runBlocks(model.embed(ids, ctx), ctx);
            float[] act = h.toFloatArray();
            if (route.privacy() != null) {
                route.privacy().apply(act, width, Seeds.derive(dropoutSeed, 0x6e6f697365L));
            }
            StepRequest request = new StepRequest(route.runId(), route.clientId(), route.round(), route.attempt(),
                    step, micro, micros, model.part().toLayer(), dropoutSeed, route.dtype(), mb.size(), mb.time(), width,
                    route.dtype().encode(act), mb.rowLengths(), mb.flatTargetPositions(), mb.targetLabels(), mb.targetWeight());
            speed.slowDown(t0);
            long t1 = System.nanoTime();
            client.send(request);
            return new InFlight(ctx, h, step, micro, act.length, mb.tokenCount(), (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
        } catch (Throwable e) {
            ctx.close();
            throw e;
        }
    }

    /** Waits for the oldest micro-batch's gradient and runs its backward; its weighted loss. */
    private double receiveAndBackward(InFlight f) {
        try (ForwardContext ctx = f.ctx()) {
            long t1 = System.nanoTime();
            StepReply reply = client.receive(route.clientId(), f.step(), f.micro());
            long t2 = System.nanoTime();
            NDArray grad = ctx.manager().create(reply.dtype().decode(reply.gradient(), f.values()), f.output().getShape());
            ctx.backward(f.output(), grad);
            speed.slowDown(t2);
            timings = timings.plus(new StepTimings(f.forwardSeconds(), (System.nanoTime() - t2) / 1e9, f.sendSeconds() + (t2 - t1) / 1e9,
                    reply.forwardSeconds(), reply.backwardSeconds(), reply.waitSeconds()));
            return reply.loss();
        }
    }

    @Override
    public StepTimings timings() {
        return timings;
    }
}
