package org.splitlora.federation;

import java.io.Serializable;
import java.util.Map;
import org.splitlora.train.AdamW;
import org.splitlora.train.StepTimings;

/**
 * What a client task returns to the driver: its trained adapters, optimizer state, sample count
 * (the FedAvg weight) and what the round cost it.
 *
 * @param layers the blocks [0, layers) it trained: its cut, or all layers in FL and central
 * @param rankAtCut the LoRA rank of its last block (lora.cutRank in the split modes when set)
 */
public record ClientUpdate(
        int clientId,
        int layers,
        int rankAtCut,
        Map<String, float[]> lora,
        AdamW.State optimizer,
        long samples,
        int steps,
        double lossSum,
        long tokens,
        double seconds,
        StepTimings timings,
        long bytesUp,
        long bytesDown,
        int attempt) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Seconds of the client's own compute (forward and backward) per local step. */
    public double computeSecondsPerStep() {
        return (timings.clientForward() + timings.clientBackward()) / Math.max(1, steps);
    }

    public double meanLoss() {
        return lossSum / Math.max(1, steps);
    }
}
