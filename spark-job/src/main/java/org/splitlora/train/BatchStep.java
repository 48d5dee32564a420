package org.splitlora.train;

import java.util.List;
import org.splitlora.datasets.TokenizedExample;

/**
 * Forward and backward of one global batch: the gradients of the batch's mean target loss
 * accumulate on the trainable adapters (the optimizer step is the caller's). Implementations run
 * the whole model locally or a client segment against the split server.
 */
public interface BatchStep {

    /** @param step the global optimizer step (seeds dropout and tags frames) */
    StepLoss run(List<TokenizedExample> batch, int step);

    /** Time spent so far, by phase. */
    StepTimings timings();

    /** The batch's mean loss over its targets and its real (non-padding) tokens. */
    record StepLoss(double loss, long tokens) {}

    /** Targets of a global batch: each micro-batch's loss is divided by this, so they sum to the mean. */
    static int targets(List<TokenizedExample> batch) {
        int n = 0;
        for (TokenizedExample e : batch) {
            n += e.targetCount();
        }
        return n;
    }
}
