package org.splitlora.train;

/**
 * The optimizer a trainer steps once per global step over its LoRA parameters' accumulated
 * gradients, with its own learning-rate schedule; its state is what a client carries across
 * rounds and a checkpoint keeps.
 */
public interface LocalOptimizer extends AutoCloseable {

    /** One step at global step {@code step} of {@code totalSteps}; zeroes the gradients. */
    void step(int step, int totalSteps);

    AdamW.State state();

    void restore(AdamW.State state);

    @Override
    void close();
}
