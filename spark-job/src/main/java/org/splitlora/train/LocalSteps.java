package org.splitlora.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.splitlora.datasets.TokenizedExample;

/**
 * A trainer's walk over its data: seeded batches (reshuffled every epoch) that can resume after
 * any number of batches, and runs of optimizer steps at the scheduled learning rate.
 */
public final class LocalSteps {

    private final List<TokenizedExample> data;
    private final EpochSampler sampler;
    private final int batchSize;

    /** @param batchesDone batches already consumed (by earlier rounds): the walk continues after them */
    public LocalSteps(List<TokenizedExample> data, long seed, int batchSize, long batchesDone) {
        this.data = data;
        this.sampler = new EpochSampler(data.size(), seed);
        this.batchSize = batchSize;
        for (long b = batchesDone; b > 0; b--) {
            sampler.next(batchSize);
        }
    }

    public List<TokenizedExample> nextBatch() {
        List<TokenizedExample> batch = new ArrayList<>(batchSize);
        for (int i : sampler.next(batchSize)) {
            batch.add(data.get(i));
        }
        return batch;
    }

    /**
     * Global steps [firstStep, firstStep + count): a batch, forward and backward, one optimizer
     * step. {@code beforeStep} sees each local step index first. Returns the summed loss and tokens.
     */
    public BatchStep.StepLoss run(BatchStep step, LocalOptimizer optimizer, int firstStep, int count, int totalSteps,
                                  IntConsumer beforeStep) {
        double loss = 0;
        long tokens = 0;
        for (int s = 0; s < count; s++) {
            beforeStep.accept(s);
            BatchStep.StepLoss r = step.run(nextBatch(), firstStep + s);
            optimizer.step(firstStep + s, totalSteps);
            loss += r.loss();
            tokens += r.tokens();
        }
        return new BatchStep.StepLoss(loss, tokens);
    }
}
