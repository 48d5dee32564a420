package org.splitlora.train;

/**
 * How a local trainer runs: global batch size (split into micro-batches whose gradients are
 * accumulated), length (epochs, or a fixed step count when {@code maxSteps > 0}), optimizer,
 * label smoothing, seed, and how often to evaluate.
 */
public record TrainOptions(
        int batchSize,
        int microBatchSize,
        int epochs,
        int maxSteps,
        OptimizerConfig optimizer,
        double labelSmoothing,
        long seed,
        int evalEvery) {

    public TrainOptions {
        if (batchSize < 1) throw new IllegalArgumentException("train.batchSize must be >= 1, got " + batchSize);
        if (microBatchSize < 1 || microBatchSize > batchSize) {
            throw new IllegalArgumentException("train.microBatchSize must be in [1, batchSize], got " + microBatchSize);
        }
        if (epochs < 1 && maxSteps < 1) throw new IllegalArgumentException("train.epochs or train.maxSteps must be >= 1");
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("train.labelSmoothing must be in [0, 1), got " + labelSmoothing);
        }
        if (evalEvery < 0) throw new IllegalArgumentException("train.evalEvery must be >= 0 (0 = only at the end)");
    }

    public int totalSteps(int examples) {
        return maxSteps > 0 ? maxSteps : epochs * Math.max(1, (examples + batchSize - 1) / batchSize);
    }
}
