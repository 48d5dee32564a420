package org.splitlora.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.splitlora.datasets.TokenizedExample;

/**
 * A trainer's walk over its data: seeded batches (reshuffled every epoch) that can resume after
 * any number of batches, and runs of optimizer steps at the scheduled learning rate. The data is
 * one shard, or several walked side by side, a batch pooling the next batch of each.
 */
public final class LocalSteps {

    /** Examples walked in the order {@code seed} shuffles them. */
    public record Shard(List<TokenizedExample> data, long seed) {}

    private final List<Shard> shards;
    private final List<EpochSampler> samplers = new ArrayList<>();
    private final int batchSize;

    /** @param batchesDone batches already consumed (by earlier rounds): the walk continues after them */
    public LocalSteps(List<TokenizedExample> data, long seed, int batchSize, long batchesDone) {
        this(List.of(new Shard(data, seed)), batchSize, batchesDone);
    }

    /**
     * Batches of {@code batchSize} examples from every shard, in the shards' order, each shard drawn
     * exactly as a walk over it alone with its seed would draw it.
     */
    public LocalSteps(List<Shard> shards, int batchSize, long batchesDone) {
        this.shards = List.copyOf(shards);
        this.batchSize = batchSize;
        for (Shard s : this.shards) {
            EpochSampler sampler = new EpochSampler(s.data().size(), s.seed());
            for (long b = batchesDone; b > 0; b--) {
                sampler.next(batchSize);
            }
            samplers.add(sampler);
        }
    }

    public List<TokenizedExample> nextBatch() {
        List<TokenizedExample> batch = new ArrayList<>(batchSize * shards.size());
        for (int s = 0; s < shards.size(); s++) {
            for (int i : samplers.get(s).next(batchSize)) {
                batch.add(shards.get(s).data().get(i));
            }
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
