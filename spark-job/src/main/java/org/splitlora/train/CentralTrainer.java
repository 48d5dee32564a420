package org.splitlora.train;

import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;

/**
 * CenLoRA: one process trains the LoRA adapters of the whole model on all data, in runs of steps
 * (the driver's rounds). Each step takes a global batch, accumulates the gradients of its
 * micro-batches (the loss of each is normalised by the global batch's target count, so the sum
 * equals the full-batch mean), then clips and applies AdamW under the linear warmup/decay schedule.
 * The adapters stay the caller's; the optimizer is this trainer's.
 */
public final class CentralTrainer implements AutoCloseable {

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final TrainOptions options;
    private final AdamW optimizer;
    private final LocalSteps steps;

    /** @param batchesDone batches already consumed (by earlier rounds): the data walk continues after them */
    public CentralTrainer(DecoderModel model, LoraAdapters lora, TrainOptions options, List<TokenizedExample> data,
                          long batchesDone) {
        this(model, lora, options, new LocalSteps(data, options.seed(), options.batchSize(), batchesDone));
    }

    /** Steps over {@code walk}'s batches (whose size may differ from the options' batch size, e.g. pooled shards). */
    public CentralTrainer(DecoderModel model, LoraAdapters lora, TrainOptions options, LocalSteps walk) {
        this.model = model;
        this.lora = lora;
        this.options = options;
        this.optimizer = new AdamW(lora.parameters(), options.optimizer(), lora.manager());
        this.steps = walk;
    }

    /** Continues with a checkpointed optimizer. */
    public void restore(AdamW.State state) {
        optimizer.restore(state);
    }

    /** Global steps [firstStep, firstStep + count) of a schedule of {@code totalSteps}. */
    public Result run(int firstStep, int count, int totalSteps) {
        BatchStep step = new LocalBatchStep(model, lora, options.microBatchSize(), options.labelSmoothing(), options.seed(),
                options.gradientCheckpointing());
        BatchStep.StepLoss sum = steps.run(step, optimizer, firstStep, count, totalSteps, s -> { });
        return new Result(sum, step.timings());
    }

    public AdamW.State optimizerState() {
        return optimizer.state();
    }

    /** A run of steps: the summed loss and tokens, and the time by phase. */
    public record Result(BatchStep.StepLoss sum, StepTimings timings) {}

    @Override
    public void close() {
        optimizer.close();
    }
}
