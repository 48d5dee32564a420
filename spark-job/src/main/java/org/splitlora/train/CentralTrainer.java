package org.splitlora.train;

import java.util.ArrayList;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;

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
        LocalSteps data = new LocalSteps(train, options.seed(), options.batchSize(), 0);
        List<Double> losses = new ArrayList<>(total);
        BatchStep batchStep = new LocalBatchStep(model, lora, options.microBatchSize(), options.labelSmoothing(), options.seed());
        try (AdamW opt = new AdamW(lora.parameters(), options.optimizer(), lora.manager())) {
            for (int step = 0; step < total; step++) {
                long t0 = System.nanoTime();
                BatchStep.StepLoss result = batchStep.run(data.nextBatch(), step);
                double lr = options.optimizer().lrAt(step, total);
                double norm = opt.step(lr);
                losses.add(result.loss());
                listener.onStep(new TrainListener.StepResult(step + 1, total, result.loss(), lr, norm,
                        result.tokens(), (System.nanoTime() - t0) / 1e9));
                boolean last = step + 1 == total;
                if (valid != null && !valid.isEmpty()
                        && (last || (options.evalEvery() > 0 && (step + 1) % options.evalEvery() == 0))) {
                    listener.onEval(step + 1, Evaluator.evaluate(model, lora, valid, options.microBatchSize()));
                }
            }
        }
        return losses;
    }
}
