package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.util.Seeds;

/**
 * A global batch through the whole model in this process (CenLoRA, and FedLoRA's clients): the
 * gradients of its micro-batches accumulate, each loss normalised by the global batch's targets.
 * Dropout masks come from (seed, step, micro-batch), as a split client derives them.
 */
public final class LocalBatchStep implements BatchStep {

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final int microBatchSize;
    private final double labelSmoothing;
    private final long seed;
    private final boolean checkpointing;
    private StepTimings timings = StepTimings.ZERO;

    /** {@code checkpointing}: recompute the blocks in the backward (train.gradientCheckpointing). */
    public LocalBatchStep(DecoderModel model, LoraAdapters lora, int microBatchSize, double labelSmoothing, long seed,
                          boolean checkpointing) {
        this.model = model;
        this.lora = lora;
        this.microBatchSize = microBatchSize;
        this.labelSmoothing = labelSmoothing;
        this.seed = seed;
        this.checkpointing = checkpointing;
    }

    @Override
    public StepLoss run(List<TokenizedExample> batch, int step) {
        int targets = BatchStep.targets(batch);
        double loss = 0;
        long tokens = 0;
        int pad = model.config().eosTokenId();
        try (Torch.GradScope ignored = Torch.gradMode(true)) {
            for (int i = 0, micro = 0; i < batch.size(); i += microBatchSize, micro++) {
                Batch mb = Batch.of(batch.subList(i, Math.min(batch.size(), i + microBatchSize)), pad, targets);
                try (ForwardContext ctx = new ForwardContext(model.manager(), lora, Seeds.derive(seed, step, micro), checkpointing)) {
                    long t0 = System.nanoTime();
                    NDArray ids = mb.prepare(ctx);
                    NDArray l = CausalLmLoss.compute(model, model.runBlocks(model.embed(ids, ctx), ctx), mb, labelSmoothing, ctx);
                    loss += l.getFloat();
                    long t1 = System.nanoTime();
                    ctx.backward(l, ctx.manager().ones(l.getShape()));
                    timings = timings.plus(new StepTimings((t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9, 0, 0, 0, 0));
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
