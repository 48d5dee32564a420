package org.splitlora.train;

/**
 * How CenLoRA steps: the global batch size (split into micro-batches whose gradients are
 * accumulated), the optimizer, label smoothing, the seed of its data order and dropout masks, and
 * whether the blocks are recomputed in the backward (activation checkpointing).
 */
public record TrainOptions(int batchSize, int microBatchSize, OptimizerConfig optimizer, double labelSmoothing, long seed,
                           boolean gradientCheckpointing) {

    public TrainOptions(int batchSize, int microBatchSize, OptimizerConfig optimizer, double labelSmoothing, long seed) {
        this(batchSize, microBatchSize, optimizer, labelSmoothing, seed, false);
    }

    public TrainOptions {
        if (batchSize < 1) throw new IllegalArgumentException("train.batchSize must be >= 1, got " + batchSize);
        if (microBatchSize < 1 || microBatchSize > batchSize) {
            throw new IllegalArgumentException("train.microBatchSize must be in [1, batchSize], got " + microBatchSize);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("train.labelSmoothing must be in [0, 1), got " + labelSmoothing);
        }
    }
}
