package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;
import org.splitlora.util.Seeds;

/**
 * CenLoRA: one process trains the LoRA adapters of the whole model on all data. Each step takes
 * a global batch, accumulates the gradients of its micro-batches (the loss of each is normalised
 * by the global batch's target count, so the sum equals the full-batch mean), then clips and
 * applies AdamW under the linear warmup/decay schedule.
 */
public final class CentralTrainer {

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final TrainOptions options;

    public CentralTrainer(DecoderModel model, LoraAdapters lora, TrainOptions options) {
        this.model = model;
        this.lora = lora;
        this.options = options;
    }

    /** Trains; returns the training loss of every step. */
    public List<Double> fit(List<TokenizedExample> train, List<TokenizedExample> valid, TrainListener listener) {
        int total = options.totalSteps(train.size());
        EpochSampler sampler = new EpochSampler(train.size(), options.seed());
        List<Double> losses = new ArrayList<>(total);
        try (AdamW opt = new AdamW(lora.parameters(), options.optimizer(), lora.manager())) {
            for (int step = 0; step < total; step++) {
                long t0 = System.nanoTime();
                List<TokenizedExample> batch = new ArrayList<>();
                for (int i : sampler.next(options.batchSize())) {
                    batch.add(train.get(i));
                }
                double[] lossAndTokens = accumulate(batch, step);
                double lr = options.optimizer().lrAt(step, total);
                double norm = opt.step(lr);
                losses.add(lossAndTokens[0]);
                listener.onStep(new TrainListener.StepResult(step + 1, total, lossAndTokens[0], lr, norm,
                        (long) lossAndTokens[1], (System.nanoTime() - t0) / 1e9));
                boolean last = step + 1 == total;
                if (valid != null && !valid.isEmpty()
                        && (last || (options.evalEvery() > 0 && (step + 1) % options.evalEvery() == 0))) {
                    listener.onEval(step + 1, Evaluator.evaluate(model, lora, valid, options.microBatchSize()));
                }
            }
        }
        return losses;
    }

    /** Forward + backward of every micro-batch; returns {mean loss over the batch's targets, tokens}. */
    private double[] accumulate(List<TokenizedExample> batch, int step) {
        int targets = 0;
        for (TokenizedExample e : batch) {
            targets += e.targetCount();
        }
        double loss = 0;
        long tokens = 0;
        int pad = model.config().eosTokenId();
        try (Torch.GradScope ignored = Torch.gradMode(true)) {
            for (int i = 0, micro = 0; i < batch.size(); i += options.microBatchSize(), micro++) {
                Batch mb = Batch.of(batch.subList(i, Math.min(batch.size(), i + options.microBatchSize())), pad, targets);
                try (ForwardContext ctx = new ForwardContext(model.manager(), lora, true, Seeds.derive(options.seed(), step, micro))) {
                    NDArray ids = mb.prepare(ctx);
                    NDArray l = CausalLmLoss.compute(model, model.runBlocks(model.embed(ids, ctx), ctx), mb, options.labelSmoothing(), ctx);
                    JniUtils.backward((PtNDArray) l, (PtNDArray) ctx.manager().ones(l.getShape()), false, false);
                    loss += l.getFloat();
                }
                tokens += mb.tokenCount();
            }
        }
        return new double[] {loss, tokens};
    }
}
